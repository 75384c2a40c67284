"""How a model is fit: parameters, constraints, engines, strategy, results.

``xtal.refine(pattern, phases, instrument=None, recipe=None, **options)`` runs a
refinement from files or value objects (:func:`xtal.app.refine.refine`); inside
this package everything is a value object (:func:`xtal.refine.api.refine_values`).
"""
