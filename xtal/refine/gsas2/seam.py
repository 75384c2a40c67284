"""The engine seam's value objects, as the GSAS-II engine uses them.

These mirror, field for field, ``Problem``, ``StageSpec``, ``StageReport`` and
``EngineOutput`` of ``xtal/refine/engine.py`` and ``PeakList`` of
``xtal/diffraction/peaks.py`` (the engine-neutral seam being written alongside).
When that seam is in place, this module reduces to::

    from xtal.diffraction.peaks import PeakList as PeakArrays
    from xtal.refine.engine import EngineOutput, Problem, StageReport, StageSpec
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.refine.parameters import Restraint
from xtal.refine.recipe import Recipe


@dataclass(frozen=True)
class Problem:
    """Everything an engine is set up from (value objects; see ``xtal.refine.engine``)."""

    pattern: Pattern
    phases: tuple[Phase, ...]
    instrument: Instrument
    recipe: Recipe
    restraints: tuple[Restraint, ...] = ()
    fixed_background: np.ndarray | None = None
    phase_terms: Mapping[str, Any] = field(default_factory=dict)
    fcj: str = "gsas2"
    exact_esds: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StageSpec:
    """One stage as an engine runs it: concrete parameter names, no wildcards."""

    name: str
    refine: tuple[str, ...]
    cycles: int = 10
    tolerance: float = 1e-4


@dataclass
class StageReport:
    """What an engine did in one stage."""

    name: str
    cycles: int = 0
    chi2_start: float = float("nan")
    chi2: float = float("nan")
    converged: bool = False
    stopped: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class PeakArrays:
    """Every peak of one phase: one entry per reflection and wavelength line (PeakList)."""

    pos: np.ndarray
    area: np.ndarray
    fwhm_g: np.ndarray
    fwhm_l: np.ndarray
    ref: np.ndarray
    line: np.ndarray
    sh_l: float = 0.0
    bb: tuple[float, float, float, float] | None = None


@dataclass
class EngineOutput:
    """An engine's final state in engine-neutral terms (see ``xtal.refine.engine``)."""

    values: dict[str, float]
    refined: list[str]
    covariance: np.ndarray | None
    x: np.ndarray
    observed: np.ndarray
    sigma: np.ndarray
    calculated: np.ndarray
    background: np.ndarray
    phase_curves: dict[str, np.ndarray]
    peaks: dict[str, PeakArrays]
    hkl: dict[str, np.ndarray]
    multiplicity: dict[str, np.ndarray]
    phases: dict[str, Phase]
    instrument: Instrument
    n_free: int
    chi2_pattern: float
    engine: str
    free_map: np.ndarray | None = None
    fcj: str = "gsas2"
