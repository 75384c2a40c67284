"""xtal: crystallography and Rietveld-refinement workbench.

Public API
----------
load_phase(name_or_path) -> Phase
simulate(phases, instrument, two_theta) -> Pattern
read_pattern(path) -> list[Pattern]
refine(pattern, phases, instrument=None, recipe=None) -> Result
compare(phases, instrument=None) -> Comparison
symmetry(phase) -> SymmetryReport;  rings(phase) -> RingReport
export_cif(phase, path) -> Path
"""

from __future__ import annotations

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
    "simulate": "xtal.diffraction.simulate",
    "refine": "xtal.refine",
    "Result": "xtal.refine.result",
    "load_recipe": "xtal.refine.recipe",
    "compare": "xtal.app.compare",
    "symmetry": "xtal.analysis.symmetry",
    "rings": "xtal.analysis.rings",
    "export_cif": "xtal.io.cif_write",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    # Lazy imports keep `import xtal` fast (pymatgen alone takes seconds).
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        if name == "refine":
            return module  # the package is callable: xtal.refine(pattern, phases, ...)
        if name == "export_cif":
            return module.write_cif
        return getattr(module, name)
    raise AttributeError(f"module 'xtal' has no attribute {name!r}")
