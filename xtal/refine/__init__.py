"""How a model is fit: parameters, constraints, solver, recipes, results."""
