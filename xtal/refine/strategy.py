"""The stage loop, once for every engine: recipe → stages → :class:`Result`.

A recipe's stages name parameters by dot paths with shell wildcards and
``{role}`` placeholders (:mod:`xtal.refine.roles`); here they are expanded against
the paths the engine offers — all stages before the first one runs, so that a
recipe asking for something this model does not have fails before any work is
done — and handed to the engine one stage at a time.  Stages are cumulative
unless a stage says ``replace``.

Nothing asked is dropped silently: a name without wildcards that matches
nothing is an error; a wildcard or a role that matches nothing is a warning
naming it.  Occupancies are refined under composition constraints
(:mod:`xtal.refine.composition`).  A refinement can start warm, from an earlier
:class:`Result` or a mapping of values (diffpy.srfit's
``initialize_recipe_with_results``; GSAS-II's sequential copy-forward).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence

from xtal.errors import InputError, RefinementError
from xtal.refine.assemble import build_result
from xtal.refine.composition import composition_constraints, fixed_by_composition
from xtal.refine.engine import Engine, Problem, Progress, StageSpec
from xtal.refine.parameters import Constraint, parse_constraint
from xtal.refine.paths import ParamPath
from xtal.refine.result import Result
from xtal.refine.roles import expand, placeholders

Start = Result | Mapping[str, float] | None

# pairs whose effects on a pattern are nearly or exactly the same functions of 2θ
RUNAWAY_PAIRS = (
    ("instrument.zero", "instrument.displacement", "nearly singular at low angles"),
    ("size", "instrument.X", "both broaden as 1/cosθ"),
    ("microstrain", "instrument.Y", "both broaden as tanθ"),
)


def start_values(start: Start) -> dict[str, float]:
    """The parameter values a warm start begins from."""
    if start is None:
        return {}
    if isinstance(start, Result):
        return {n: v.value for n, v in start.parameters.items()}
    return {str(n): float(v) for n, v in start.items()}


def run(
    problem: Problem,
    engine: Engine,
    *,
    constraints: Sequence[str] = (),
    fix: Sequence[str] = (),
    start: Start = None,
    progress: Progress | None = None,
    cell_search: float = 0.0,
    last_stage_only: bool = False,
) -> Result:
    """Refine ``problem`` with ``engine`` through the stages of its recipe.

    Parameters
    ----------
    problem
        Pattern, phases, instrument, recipe (value objects).
    engine
        Any :class:`~xtal.refine.engine.Engine`.
    constraints
        User constraints (:func:`~xtal.refine.parameters.parse_constraint` syntax),
        in addition to the recipe's.
    fix
        Parameter paths (wildcards allowed) never refined.
    start
        Warm start: an earlier Result or a mapping of values.
    progress
        Called with (stage, cycle, Rwp) after every accepted cycle.
    cell_search
        Before the first stage, search each phase's cell lengths for a common factor
        within ±``cell_search`` (e.g. 0.01) that fits best with scales and background
        solved (:func:`search_cells`): a start whose peaks miss by more than their widths
        is brought within reach of least squares.
    last_stage_only
        Run only the last stage, with everything the recipe refines by then: the way a
        sequential series refines a pattern that starts from its neighbour's result
        (GSAS-II's sequential refinement refines all its flags at once).
    """
    names = engine.setup(problem)
    warnings: list[str] = list(problem.notes)
    _check_fix(fix, names, warnings)
    plan = _plan(problem, names, fix, warnings)
    if last_stage_only and plan:
        plan = plan[-1:]
    occ = {n for _, active in plan for n in active if n.endswith(".occ")}
    cons = _constraints(problem, constraints, names, warnings)
    if problem.recipe.composition != "free":
        for ph in problem.phases:
            cons += composition_constraints(ph, occ)
    engine.constrain(cons)
    unknown = engine.set_values(start_values(start))
    if unknown:
        warnings.append(
            f"warm start: {len(unknown)} value(s) not in this model, ignored "
            f"(e.g. {', '.join(sorted(unknown)[:3])})"
        )
    cell_search = cell_search or problem.recipe.cell_search
    if cell_search > 0:
        warnings += search_cells(engine, problem, names, cell_search)
    stages: list[dict] = []
    stopped = None
    for stage, active in plan:
        _prepare(active, engine)
        cycles, tolerance = stage.cycles, stage.tolerance
        if problem.le_bail and (stage, active) == plan[-1]:
            # extracted intensities move with the cell and profile: the last stage runs to
            # a tighter convergence than a Rietveld fit needs (or its cell lags behind)
            cycles, tolerance = max(cycles, 30), min(tolerance, 1e-4)
        report = engine.run_stage(StageSpec(stage.name, tuple(active), cycles, tolerance),
                                  progress)
        warnings += [w for w in report.warnings if w not in warnings]
        later = set().union(*(set(a) for _, a in plan[plan.index((stage, active)) + 1 :]))
        if not report.converged and not report.stopped and not set(active) <= later:
            # an early stage's parameters go on refining in the later (cumulative) ones;
            # only a stage whose work is not carried on must converge
            warnings.append(
                f"stage '{stage.name}' reached its cycle limit ({stage.cycles}) before "
                "converging"
            )
        stages.append(
            {
                "name": stage.name,
                "cycles": report.cycles,
                "chi2_start": _f(report.chi2_start),
                "chi2": _f(report.chi2),
                "converged": report.converged,
                "stopped": report.stopped,
                "refined": len(active),
            }
        )
        if report.stopped:
            stopped = f"stage '{stage.name}': {report.stopped}"
            break
    if not plan:
        raise RefinementError("the recipe has no stages")
    return build_result(
        engine.output(),
        recipe=problem.recipe.name,
        data_source=problem.pattern.source,
        stages=stages,
        warnings=warnings,
        stopped=stopped,
        internal_standard=problem.internal_standard,
    )


def search_cells(engine: Engine, problem: Problem, names: list[str], span: float) -> list[str]:
    """Grid search of a factor on each phase's a, b, c (one phase at a time) for the lowest χ²
    with the linear parameters solved; returns notes on what it moved.

    A coarse grid of 41 factors over 1 ± ``span`` and a fine one of 21 around the best: at
    Cu Kα and 80° 2θ a step of the coarse grid (``span``/20) moves peaks by 0.06° for
    span = 0.01, less than a lab peak's width, so the true cell is never stepped over.
    """
    linear = [
        n
        for n in names
        if ParamPath.parse(n).group in ("scale", "chebyshev")
        or (ParamPath.parse(n).group == "halo" and n.endswith(".area"))
    ]
    notes = []
    for phase in problem.phases:
        keys = [str(ParamPath.cell(phase.name, k)) for k in ("a", "b", "c")]
        base = {k: engine.values()[k] for k in keys}

        def chi2(f: float, keys: list[str] = keys, base: dict = base) -> float:
            engine.set_values({k: base[k] * f for k in keys})
            return engine.run_stage(StageSpec("cell search", tuple(linear), 1, 1.0)).chi2

        step = span / 20
        grid = [1 + step * i for i in range(-20, 21)]
        best = min(grid, key=chi2)
        fine = [best + step / 10 * i for i in range(-10, 11)]
        best = min(fine, key=chi2)
        engine.set_values({k: base[k] * best for k in keys})
        if abs(best - 1) > 1e-12:
            notes.append(f"cell search: {phase.name} a, b, c × {best:.5f} before refining")
    return notes


def _plan(problem: Problem, names: list[str], fix: Sequence[str], warnings: list[str]):
    """(stage, parameters it refines) for every stage that refines something new."""
    plan = []
    refine_set: list[str] = []
    previous: list[str] | None = None
    for stage in problem.recipe.stages:
        if stage.replace:
            refine_set = []
        for pat in stage.refine:
            for matched in _match(pat, names, problem.roles, f"stage '{stage.name}'", warnings):
                if stage.partial_occupancy_only:
                    matched = [m for m in matched if m in _partial_occupancies(problem)]
                refine_set += [m for m in matched if m not in refine_set]
        active = [n for n in refine_set if not any(fnmatch.fnmatchcase(n, f) for f in fix)]
        active = _usable(active, problem, warnings)
        if problem.recipe.composition != "free":
            active = _free_occupancies(active, problem, warnings)
        if previous is not None and set(active) == set(previous):
            continue  # the stage adds nothing: the previous one already refined all of it
        previous = list(active)
        _runaway(stage.name, active, warnings)
        plan.append((stage, active))
    return plan


def _match(
    pattern: str,
    names: list[str],
    roles: Mapping[str, tuple[str, ...]],
    where: str,
    warnings: list[str],
) -> list[list[str]]:
    """The names each expansion of ``pattern`` matches (errors and warnings as documented)."""
    texts = expand(pattern, roles)
    if not texts:
        _warn_once(warnings, f"{where}: '{pattern}' uses a role no phase fills; not refined")
        return []
    out = []
    for text in texts:
        hits = [n for n in names if fnmatch.fnmatchcase(n, text)]
        if hits:
            out.append(hits)
        elif _is_pattern(text) or placeholders(pattern):
            _warn_once(warnings, f"{where}: '{text}' matches no parameter of this model")
        else:
            raise InputError(f"{where}: '{text}' matches no parameter of this model")
    return out


def _is_pattern(text: str) -> bool:
    return any(c in text for c in "*?[")


def _warn_once(warnings: list[str], msg: str) -> None:
    if msg not in warnings:
        warnings.append(msg)


def _check_fix(fix: Sequence[str], names: list[str], warnings: list[str]) -> None:
    for f in fix:
        if not any(fnmatch.fnmatchcase(n, f) for n in names):
            if not _is_pattern(f):
                raise InputError(f"--fix '{f}' matches no parameter of this model")
            _warn_once(warnings, f"--fix '{f}' matches no parameter of this model")


def _constraints(
    problem: Problem, user: Sequence[str], names: list[str], warnings: list[str]
) -> list[Constraint]:
    """Recipe constraints (roles expanded) and the user's, parsed against ``names``."""
    out: list[Constraint] = []
    for text in problem.recipe.constraints:
        texts = expand(text, problem.roles)
        if not texts:
            warnings.append(f"recipe constraint '{text}' uses a role no phase fills; not applied")
        for t in texts:
            try:
                out.extend(parse_constraint(t, names))
            except InputError as exc:
                if not (_is_pattern(t) or placeholders(text)):
                    raise InputError(f"recipe constraint '{t}': {exc.message}") from None
                warnings.append(f"recipe constraint '{t}' not applied: {exc.message}")
    for text in user:
        out.extend(parse_constraint(text, names))
    return out


def _partial_occupancies(problem: Problem) -> set[str]:
    return {
        str(ParamPath.site_param(p.name, s.label, "occ"))
        for p in problem.phases
        for s in p.sites
        if s.occupancy < 1.0 - 1e-6
    }


def _usable(active: list[str], problem: Problem, warnings: list[str]) -> list[str]:
    """Leave out what cannot be refined as it stands, with a warning."""
    out = []
    for n in active:
        path = ParamPath.parse(n)
        if path.is_po:
            terms = problem.phase_terms.get(path.phase)
            if terms is None or terms.po_axis is None:
                msg = f"{n} not refined: no preferred-orientation axis set for {path.phase}"
                _warn_once(warnings, msg)
                continue
        out.append(n)
    return out


def _free_occupancies(active: list[str], problem: Problem, warnings: list[str]) -> list[str]:
    """Occupancies the formula alone fixes (the element's only site) are not refined."""
    phases = {p.name: p for p in problem.phases}
    fixed = [
        n
        for n in active
        if n.endswith(".occ") and fixed_by_composition(phases[ParamPath.parse(n).phase], n)
    ]
    if fixed:
        _warn_once(
            warnings,
            f"not refined, the formula fixes them (their element has no other site; "
            f'recipe composition = "free" releases them): {", ".join(fixed)}',
        )
    return [n for n in active if n not in fixed]


def _prepare(active: list[str], engine: Engine) -> None:
    """Start values that a parameter needs before it can be refined."""
    values = engine.values()
    for n in active:
        if ParamPath.parse(n).group == "size" and values[n] <= 0:
            # 0 means "no size broadening"; start from 1 µm, GSAS-II's default
            engine.set_values({n: 1.0})


def _runaway(stage: str, active: list[str], warnings: list[str]) -> None:
    for a, b, why in RUNAWAY_PAIRS:
        first = [n for n in active if n == a or n.endswith("." + a)]
        if first and b in active:
            _warn_once(
                warnings,
                f"stage '{stage}' refines {first[0]} with {b}: {why}; their values may run away "
                "together (fix one, e.g. the zero from a calibration)",
            )


def _f(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None
