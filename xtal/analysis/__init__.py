"""Structure analysis: symmetry over tolerances, B–S ring distortion, ordered variants,
phases side by side.

``symmetry(phase)``, ``rings(phase)`` and ``compare(phases)`` are the entry points; the
modules of the same names hold the report types.
"""

from __future__ import annotations

from xtal.analysis.compare import Comparison, Peak, PhaseSummary, compare
from xtal.analysis.ordering import OrderedVariant, ordered_variants
from xtal.analysis.rings import BS3Unit, Ring, RingReport, rings
from xtal.analysis.symmetry import SymmetryReport, SymmetryRung, mean_atomic_volume, symmetry

__all__ = [
    "BS3Unit",
    "Comparison",
    "OrderedVariant",
    "Peak",
    "PhaseSummary",
    "Ring",
    "RingReport",
    "SymmetryReport",
    "SymmetryRung",
    "compare",
    "mean_atomic_volume",
    "ordered_variants",
    "rings",
    "symmetry",
]
