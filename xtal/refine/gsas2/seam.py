"""The engine seam's value objects as the GSAS-II engine uses them (one definition each)."""

from __future__ import annotations

from xtal.diffraction.peaks import PeakList as PeakArrays
from xtal.refine.engine import EngineOutput, Problem, StageReport, StageSpec

__all__ = ["EngineOutput", "PeakArrays", "Problem", "StageReport", "StageSpec"]
