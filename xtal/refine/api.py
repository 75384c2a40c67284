"""Refinement from value objects: Pattern, Phases, Instrument, Recipe → :class:`Result`.

Files are resolved one layer up (:mod:`xtal.app.refine`, which the public
``xtal.refine(...)`` calls); here everything is already a value object, so a
refinement can be shipped to another process or a Dask worker as it is.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.diffraction.peaks import PhaseTerms
from xtal.errors import InputError
from xtal.refine.amorphous import InternalStandard
from xtal.refine.engine import Engine, Problem, Progress
from xtal.refine.parameters import Restraint
from xtal.refine.recipe import Recipe, RestraintSpec, load_recipe
from xtal.refine.result import Result
from xtal.refine.roles import Role, expand, resolve_roles
from xtal.refine.strategy import Start, run

ENGINES = ("native", "gsas2")


def make_engine(engine: str | Engine = "native") -> Engine:
    """An engine by name (``"native"``, ``"gsas2"``) or the engine object given."""
    if not isinstance(engine, str):
        return engine
    if engine == "native":
        from xtal.refine.native import NativeEngine

        return NativeEngine()
    if engine == "gsas2":
        from xtal.refine.gsas2 import GsasEngine  # type: ignore[import-not-found]

        return GsasEngine()
    raise InputError(f"unknown engine '{engine}' (choose from {', '.join(ENGINES)})")


def refine_values(
    pattern: Pattern,
    phases: Sequence[Phase],
    instrument: Instrument | None = None,
    recipe: Recipe | str | os.PathLike[str] | None = None,
    *,
    engine: str | Engine = "native",
    start: Start = None,
    two_theta_range: tuple[float, float] | None = None,
    exclude: Sequence[tuple[float, float]] = (),
    fix: Sequence[str] = (),
    constraints: Sequence[str] = (),
    restraints: Sequence[Restraint] = (),
    fcj: str | None = None,
    fixed_background: np.ndarray | Sequence[tuple[float, float]] | None = None,
    preferred_orientation: dict[str, tuple[int, int, int]] | None = None,
    exact_esds: bool = False,
    roles: Mapping[str, str] | None = None,
    le_bail: Sequence[Phase] = (),
    internal_standard: InternalStandard | None = None,
    cell_search: float = 0.0,
    last_stage_only: bool = False,
    progress: Progress | None = None,
) -> Result:
    """Rietveld refinement of one pattern (see :func:`xtal.app.refine.refine` for options).

    ``fixed_background`` is a curve on ``pattern.x`` or (2θ, intensity) points,
    interpolated linearly and not refined.
    """
    problem = make_problem(
        pattern,
        phases,
        instrument,
        recipe,
        two_theta_range=two_theta_range,
        exclude=exclude,
        restraints=restraints,
        fcj=fcj,
        fixed_background=fixed_background,
        preferred_orientation=preferred_orientation,
        exact_esds=exact_esds,
        roles=roles,
        le_bail=le_bail,
        internal_standard=internal_standard,
    )
    eng = make_engine(engine)
    try:
        return run(
            problem, eng, constraints=constraints, fix=fix, start=start, progress=progress,
            cell_search=cell_search, last_stage_only=last_stage_only,
        )
    finally:
        close = getattr(eng, "close", None)
        if isinstance(engine, str) and close is not None:
            close()  # an engine made here (GSAS-II's holds a worker process)


def make_problem(
    pattern: Pattern,
    phases: Sequence[Phase],
    instrument: Instrument | None = None,
    recipe: Recipe | str | os.PathLike[str] | None = None,
    *,
    two_theta_range: tuple[float, float] | None = None,
    exclude: Sequence[tuple[float, float]] = (),
    restraints: Sequence[Restraint] = (),
    fcj: str | None = None,
    fixed_background: np.ndarray | Sequence[tuple[float, float]] | None = None,
    preferred_orientation: dict[str, tuple[int, int, int]] | None = None,
    exact_esds: bool = False,
    roles: Mapping[str, str] | None = None,
    le_bail: Sequence[Phase] = (),
    internal_standard: InternalStandard | None = None,
) -> Problem:
    """The :class:`Problem` an engine is set up from (inputs checked, range applied).

    ``roles`` names the phase that fills a recipe role (``{"trigonal": "MyPhase"}``),
    where matching by composition and space group is not wanted.  ``le_bail`` phases
    are fitted by Le Bail extraction (cell and profile; intensities from the pattern).
    """
    pat = pattern
    if two_theta_range is not None:
        lo, hi = two_theta_range
        if not (0 < lo < hi < 180):
            raise InputError(
                f"2θ range {lo:g}–{hi:g} must satisfy 0 < LO < HI < 180 degrees", pat.source
            )
    if two_theta_range is not None or exclude:
        lo, hi = two_theta_range if two_theta_range is not None else (None, None)
        pat = pat.select(lo, hi, list(exclude))
    pat.check_counts()
    if pat.x[0] <= 0 or pat.x[-1] >= 180:
        raise InputError("2θ values must lie in (0, 180) degrees", pat.source)
    if not phases and not le_bail:
        raise InputError("no phases given")
    rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    loaded = tuple(phases) + tuple(le_bail)
    inst = instrument if instrument is not None else instrument_for(pat)
    std = internal_standard or rec.internal_standard
    if std is not None and std.phase not in {p.name for p in phases}:
        raise InputError(
            f"internal standard '{std.phase}' is not one of the Rietveld phases "
            f"({', '.join(p.name for p in phases) or 'none'})"
        )
    if inst.radiation != "xray":
        raise InputError(
            "neutron data are not supported yet (X-ray polarisation and form factors would be "
            "wrong)",
            inst.source,
        )
    filled = resolve_roles(rec.roles, loaded, roles or {})
    notes = _input_notes(pat, loaded) + [
        f"recipe role '{r}' ({_describe(rec.roles[r])}) matches no phase: what uses it is "
        f"not applied (name the phase with --role {r}=PHASE)"
        for r, names in filled.items()
        if not names
    ]
    return Problem(
        pattern=pat,
        phases=loaded,
        instrument=inst,
        recipe=rec,
        restraints=tuple(restraints) + tuple(_recipe_restraints(rec, loaded, filled, notes)),
        fixed_background=_fixed_background(fixed_background, pat.x),
        phase_terms=_phase_terms(rec, loaded, filled, preferred_orientation or {}),
        fcj=fcj or rec.fcj,
        exact_esds=exact_esds,
        notes=tuple(notes),
        roles=filled,
        le_bail=frozenset(p.name for p in le_bail),
        internal_standard=internal_standard or rec.internal_standard,
    )


def _input_notes(pattern: Pattern, phases: tuple[Phase, ...]) -> list[str]:
    """What the readers noticed (e.g. a slightly negative Uiso read as 0), for the result."""
    out = [str(w) for w in pattern.metadata.get("warnings", ())]
    for p in phases:
        out += [f"{p.name}: {w}" for w in p.extra.get("warnings", ())]
    return out


def _describe(role: Role) -> str:
    parts = [role.formula] if role.formula else []
    if role.space_group is not None:
        parts.append(f"space group {role.space_group}")
    return ", ".join(parts) or "any phase"


def instrument_for(pat: Pattern) -> Instrument:
    """Cu Kα1/Kα2 defaults with the wavelengths and radius the data file states."""
    base = Instrument()
    if pat.wavelength:
        base = replace(
            base,
            lam1=pat.wavelength,
            lam2=pat.wavelength2 if pat.wavelength2 else None,
            ratio=pat.ratio if pat.ratio is not None else base.ratio,
        )
    radius = pat.metadata.get("radius_mm") or pat.metadata.get("radius")
    if isinstance(radius, int | float) and radius > 0:
        base = replace(base, radius=float(radius))
    return base


def _fixed_background(
    bg: np.ndarray | Sequence[tuple[float, float]] | None, x: np.ndarray
) -> np.ndarray | None:
    if bg is None:
        return None
    arr = np.asarray(bg, float)
    if arr.ndim == 1 and arr.size == x.size:
        return arr
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) < 2:
        raise InputError("a fixed background needs (2θ, intensity) points or a curve on the data")
    order = np.argsort(arr[:, 0])
    return np.interp(x, arr[order, 0], arr[order, 1])


def _phase_terms(
    rec: Recipe,
    phases: tuple[Phase, ...],
    filled: Mapping[str, tuple[str, ...]],
    axes: dict[str, tuple[int, int, int]],
) -> dict[str, PhaseTerms]:
    """Preferred-orientation axes from the recipe's [phase.<name>] tables and the caller."""
    out = {}
    for p in phases:
        axis = axes.get(p.name)
        for key, opts in rec.phase_options.items():
            hit = any(fnmatch.fnmatchcase(p.name, pat) for pat in expand(key, filled))
            if axis is None and hit and "po_axis" in opts:
                axis = opts["po_axis"]
        if axis is not None:
            if len(axis) != 3 or not all(isinstance(v, int) for v in axis) or not any(axis):
                raise InputError(
                    f"preferred-orientation axis of {p.name} must be three integers "
                    f"hkl, not {axis!r}"
                )
            out[p.name] = PhaseTerms(po_axis=tuple(axis))
    return out


def _recipe_restraints(
    rec: Recipe,
    phases: tuple[Phase, ...],
    filled: Mapping[str, tuple[str, ...]],
    notes: list[str],
) -> list[Restraint]:
    out = []
    for r in rec.restraints:
        pats = expand(r.phase, filled)
        hits = [
            p
            for p in phases
            if any(fnmatch.fnmatchcase(p.name, pat) for pat in pats)
            and _has_sites(p, r)
        ]
        if not hits:
            notes.append(
                f"restraint {r.site1}–{r.site2} ({r.phase}) matches no phase; not applied"
            )
        out += [Restraint(p.name, a, b, r.distance, r.sigma) for p in hits
                for a, b in _restrained_pairs(p, r)]
    return out


def _has_sites(phase: Phase, r: RestraintSpec) -> bool:
    labels = [s.label for s in phase.sites]
    if r.within is None:
        return {r.site1, r.site2} <= set(labels)
    return bool(_restrained_pairs(phase, r))


def _restrained_pairs(phase: Phase, r: RestraintSpec) -> list[tuple[str, str]]:
    """The site pairs a recipe restraint names: itself, or with wildcards every pair of
    matching sites at most ``within`` Å apart in the starting model."""
    if r.within is None:
        return [(r.site1, r.site2)]
    from xtal.refine.geometry import shortest_distance

    labels = [s.label for s in phase.sites]
    out: list[tuple[str, str]] = []
    for a in fnmatch.filter(labels, r.site1):
        for b in fnmatch.filter(labels, r.site2):
            if a != b and (b, a) not in out and shortest_distance(phase, a, b) <= r.within:
                out.append((a, b))
    return out
