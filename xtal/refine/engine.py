"""The engine seam: what any refinement engine offers the engine-neutral strategy.

An engine (the native one, :mod:`xtal.refine.native`; GSAS-II's,
:mod:`xtal.refine.gsas2`) is set up from a :class:`Problem` — value objects only —
and then driven stage by stage by :func:`xtal.refine.strategy.run`:

1. ``setup(problem)`` → the parameter paths it offers (dot paths, the user's
   language; see :mod:`xtal.refine.paths`);
2. ``constrain(constraints)`` adds linear equalities among them (user and recipe
   constraints, already parsed against those names);
3. ``set_values(values)`` warm-starts from earlier values (a Result, a mapping);
4. ``run_stage(stage)`` refines the named parameters of one stage;
5. ``output()`` reports values, the covariance, the curves and each phase's peak
   list, from which :mod:`xtal.refine.metrics` computes R factors, weight fractions
   and R_Bragg the same way whatever the engine.

Covariances are in parameter space, over :attr:`EngineOutput.refined`, already
multiplied by the reduced χ², so that esd_k = sqrt(C_kk) (physics.md §7).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.diffraction.peaks import PeakList, PhaseTerms
from xtal.refine.amorphous import InternalStandard
from xtal.refine.parameters import Constraint, Restraint
from xtal.refine.recipe import Recipe

Progress = Callable[[str, int, float], None]
"""Called as ``progress(stage_name, cycle, rwp)`` after every accepted cycle."""


@dataclass(frozen=True)
class Problem:
    """Everything an engine needs to set up a refinement (picklable value objects).

    Attributes
    ----------
    pattern
        The points to fit (range and exclusions already applied); σ from
        :meth:`Pattern.esd`.
    phases
        Starting models, uniquely named.
    instrument
        Starting instrument (GSAS-II units).
    recipe
        Background model (Chebyshev terms, halos) and stages.
    restraints
        Distance restraints, resolved against the phases.
    fixed_background
        A background that is not refined (e.g. FullProf ``.BGR`` points
        interpolated onto ``pattern.x``), or None.
    phase_terms
        Per-phase terms that are not structure (preferred-orientation axis …).
    fcj
        Axial-divergence quadrature (:func:`xtal.diffraction.profile.fcj_nodes`).
    exact_esds
        Final covariance from differences of the drawn pattern (native engine).
    notes
        Warnings found while setting the problem up (reported with the result).
    roles
        The recipe's roles and the phases that fill them (:mod:`xtal.refine.roles`).
    le_bail
        Phases fitted by Le Bail extraction (intensities from the pattern, atoms unused).
    internal_standard
        A weighed-in standard: fractions of the whole sample and the amorphous part
        (:mod:`xtal.refine.amorphous`).
    """

    pattern: Pattern
    phases: tuple[Phase, ...]
    instrument: Instrument
    recipe: Recipe
    restraints: tuple[Restraint, ...] = ()
    fixed_background: np.ndarray | None = None
    phase_terms: Mapping[str, PhaseTerms] = field(default_factory=dict)
    fcj: str = "gsas2"
    exact_esds: bool = False
    notes: tuple[str, ...] = ()
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    le_bail: frozenset[str] = frozenset()
    internal_standard: InternalStandard | None = None


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


@dataclass
class EngineOutput:
    """An engine's final state, in engine-neutral terms.

    Attributes
    ----------
    values
        Every parameter by dot path.
    refined
        Parameters refined in the last stage (the covariance's order).
    covariance
        Parameter-space covariance over ``refined``, × reduced χ² (esd² on the
        diagonal), or None.  A parameter that constraints hold fixed has 0 there.
    x, observed, sigma, calculated, background
        The fitted points and curves (background: everything that is not a phase).
    phase_curves
        Each phase's contribution at its refined scale.
    peaks
        Each phase's :class:`PeakList` at unit scale (positions, areas, widths of the
        final state), for R_Bragg partitioning.
    hkl, multiplicity
        Each phase's reflection list (``PeakList.ref`` indexes it): indices (n, 3)
        and multiplicities.
    phases
        Refined structures.
    instrument
        Refined instrument.
    n_free
        Number of independent refined parameters (for N − P).
    chi2_pattern
        Σ w (yo − yc)² without restraint terms.
    engine
        Engine name and version, e.g. ``"xtal 0.1.0"`` or ``"GSAS-II 5.7.9"``.
    free_map
        Rows: d(parameter)/d(free variable) in ``refined`` order, when the engine
        knows it (pairs moved together by constraints are not reported as correlated).
    fcj
        Quadrature the peaks are drawn with.
    warnings
        What the engine noticed about the final state (e.g. parameters without esd).
    le_bail
        Phases whose intensities were extracted (no weight fraction).
    halo_curves
        Each amorphous halo at its refined area (``"halo.<i>"``), part of ``background``.
    """

    values: dict[str, float]
    refined: list[str]
    covariance: np.ndarray | None
    x: np.ndarray
    observed: np.ndarray
    sigma: np.ndarray
    calculated: np.ndarray
    background: np.ndarray
    phase_curves: dict[str, np.ndarray]
    peaks: dict[str, PeakList]
    hkl: dict[str, np.ndarray]
    multiplicity: dict[str, np.ndarray]
    phases: dict[str, Phase]
    instrument: Instrument
    n_free: int
    chi2_pattern: float
    engine: str
    free_map: np.ndarray | None = None
    fcj: str = "gsas2"
    warnings: list[str] = field(default_factory=list)
    le_bail: frozenset[str] = frozenset()
    halo_curves: dict[str, np.ndarray] = field(default_factory=dict)


class Engine(Protocol):
    """What the strategy needs of a refinement engine (module docstring)."""

    name: str

    def setup(self, problem: Problem) -> list[str]:
        """Build the model; return every parameter path it offers."""
        ...

    def constrain(self, constraints: Sequence[Constraint]) -> None:
        """Add linear equality constraints among the offered parameters."""
        ...

    def set_values(self, values: Mapping[str, float]) -> list[str]:
        """Warm start; return the names it does not know (left unchanged)."""
        ...

    def values(self) -> dict[str, float]:
        """Current value of every parameter."""
        ...

    def run_stage(self, stage: StageSpec, progress: Progress | None = None) -> StageReport:
        """Refine ``stage.refine`` (and nothing else) until converged or out of cycles."""
        ...

    def output(self) -> EngineOutput:
        """The final state with its covariance, curves and peak lists."""
        ...
