"""Structure models shipped with xtal (CIF files with provenance headers).

``xtal/structures`` is a symbolic link to this top-level directory, so the files are
the package data of ``xtal.structures`` in every kind of install (editable or wheel)
and :mod:`importlib.resources` finds them; load them with
:func:`xtal.crystal.library.load_phase`.
"""
