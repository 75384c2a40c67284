"""Structure analysis: symmetry over tolerances, B–S ring distortion, ordered variants.

``symmetry(phase)`` and ``rings(phase)`` are the entry points; the modules of the
same names hold the report types.
"""

from __future__ import annotations

from xtal.analysis.ordering import OrderedVariant, ordered_variants
from xtal.analysis.rings import BS3Unit, Ring, RingReport, rings
from xtal.analysis.symmetry import SymmetryReport, SymmetryRung, mean_atomic_volume, symmetry

__all__ = [
    "BS3Unit",
    "OrderedVariant",
    "Ring",
    "RingReport",
    "SymmetryReport",
    "SymmetryRung",
    "mean_atomic_volume",
    "ordered_variants",
    "rings",
    "symmetry",
]
