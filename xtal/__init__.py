"""xtal: crystallography and Rietveld-refinement workbench.

Public API
----------
load_phase(name_or_path) -> Phase
simulate(phases, instrument, two_theta) -> Pattern
read_pattern(path) -> list[Pattern]
refine(pattern, phases, instrument=None, recipe=None) -> Result
refine_series(data, phases, instrument=None, recipe=None) -> SeriesResult
compare(phases, instrument=None) -> Comparison
symmetry(phase) -> SymmetryReport;  rings(phase) -> RingReport
export_cif(phase, path) -> Path
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from xtal.crystal.cell import Cell
    from xtal.crystal.phase import Phase, Site
    from xtal.crystal.spacegroup import SpaceGroup
    from xtal.diffraction.instrument import Instrument
    from xtal.diffraction.pattern import Pattern

_LAZY = {
    "Cell": "xtal.crystal.cell",
    "Phase": "xtal.crystal.phase",
    "Site": "xtal.crystal.phase",
    "SpaceGroup": "xtal.crystal.spacegroup",
    "Instrument": "xtal.diffraction.instrument",
    "Pattern": "xtal.diffraction.pattern",
    "XtalError": "xtal.errors",
    "InputError": "xtal.errors",
    "load_phase": "xtal.io.library",
    "read_cif": "xtal.io.cif",
    "read_instrument": "xtal.io.instprm",
    "write_instprm": "xtal.io.instprm",
    "read_pattern": "xtal.io.patterns",
    "refine_series": "xtal.app.series",
    "simulate": "xtal.diffraction.simulate",
    "Result": "xtal.refine.result",
    "load_recipe": "xtal.refine.recipe",
    "compare": "xtal.app.compare",
    "symmetry": "xtal.analysis.symmetry",
    "rings": "xtal.analysis.rings",
    "export_cif": "xtal.io.cif_write",
}

__all__ = sorted([*_LAZY, "refine"])


class _Refine:
    """``xtal.refine(pattern, phases, ...)`` (:func:`xtal.app.refine.refine`), which is
    also the package ``xtal.refine``: attribute access reaches the package's modules."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from xtal.app.refine import refine as _run

        return _run(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        import importlib

        if name.startswith("__"):
            # dunder lookups (inspect, copy, pickle) must see a plain AttributeError
            raise AttributeError(name)
        package = importlib.import_module("xtal.refine")
        try:
            return getattr(package, name)
        except AttributeError:
            pass
        try:
            return importlib.import_module(f"xtal.refine.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"xtal.refine.{name}":
                raise
            raise AttributeError(f"xtal.refine has no attribute {name!r}") from None

    @property
    def __signature__(self) -> Any:
        import inspect

        from xtal.app.refine import refine as _run

        return inspect.signature(_run)

    def __repr__(self) -> str:
        return "<xtal.refine: callable refinement entry and package>"


class _Root(ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # importing the package xtal.refine must not replace the callable entry
        if name == "refine" and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


refine = _Refine()
sys.modules[__name__].__class__ = _Root


def __getattr__(name: str) -> Any:
    # Lazy imports keep `import xtal` fast (pymatgen alone takes seconds).
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        if name == "export_cif":
            return module.write_cif
        return getattr(module, name)
    raise AttributeError(f"module 'xtal' has no attribute {name!r}")
