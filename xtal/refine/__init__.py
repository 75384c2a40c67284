"""How a model is fit: parameters, constraints, solver, recipes, results.

``xtal.refine(pattern, phases, instrument=None, recipe=None, **options)`` runs a
refinement (:func:`xtal.refine.api.refine`): this package is callable, so the
public API reads the way the architecture names it.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any


class _CallablePackage(ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from xtal.refine.api import refine

        return refine(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
