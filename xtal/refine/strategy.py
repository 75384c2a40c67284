"""The stage loop, once for every engine: recipe → stages → :class:`Result`.

A recipe's stages name parameters by dot paths with shell wildcards; here they
are expanded against the paths the engine offers, filtered (``--fix``,
partial-occupancy-only stages, a preferred-orientation ratio without an axis),
and handed to the engine one stage at a time.  Stages are cumulative unless a
stage says ``replace``.  A refinement can start warm, from an earlier
:class:`Result` or a mapping of values (diffpy.srfit's
``initialize_recipe_with_results``; GSAS-II's sequential copy-forward).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence

from xtal.errors import InputError, RefinementError
from xtal.refine.assemble import build_result
from xtal.refine.engine import Engine, Problem, Progress, StageSpec
from xtal.refine.parameters import Constraint, match_names, parse_constraint
from xtal.refine.paths import ParamPath
from xtal.refine.result import Result

Start = Result | Mapping[str, float] | None


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
    """
    names = engine.setup(problem)
    warnings: list[str] = list(problem.notes)
    engine.constrain(_constraints(problem, constraints, names, warnings))
    unknown = engine.set_values(start_values(start))
    if unknown:
        warnings.append(
            f"warm start: {len(unknown)} value(s) not in this model, ignored "
            f"(e.g. {', '.join(sorted(unknown)[:3])})"
        )
    partial = _partial_occupancies(problem)
    refine_set: list[str] = []
    previous: list[str] | None = None
    stages: list[dict] = []
    stopped = None
    for stage in problem.recipe.stages:
        if stage.replace:
            refine_set = []
        for pat in stage.refine:
            try:
                matched = match_names(pat, names)
            except InputError:
                continue  # e.g. a halo or phase this refinement does not have
            if stage.partial_occupancy_only:
                matched = [m for m in matched if m in partial]
            refine_set += [m for m in matched if m not in refine_set]
        active = [n for n in refine_set if not any(fnmatch.fnmatchcase(n, f) for f in fix)]
        active = _usable(active, problem, engine, warnings)
        if previous is not None and set(active) == set(previous):
            continue  # the stage adds nothing: the previous one already refined all of it
        previous = list(active)
        spec = StageSpec(stage.name, tuple(active), stage.cycles, stage.tolerance)
        report = engine.run_stage(spec, progress)
        warnings += report.warnings
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
    if previous is None:
        raise RefinementError("the recipe has no stages")
    return build_result(
        engine.output(),
        recipe=problem.recipe.name,
        data_source=problem.pattern.source,
        stages=stages,
        warnings=warnings,
        stopped=stopped,
    )


def _constraints(
    problem: Problem, user: Sequence[str], names: list[str], warnings: list[str]
) -> list[Constraint]:
    out: list[Constraint] = []
    for text in list(problem.recipe.constraints) + list(user):
        try:
            out.extend(parse_constraint(text, names))
        except InputError as exc:
            if text in user:
                raise
            warnings.append(f"recipe constraint '{text}' not applied: {exc.message}")
    return out


def _partial_occupancies(problem: Problem) -> set[str]:
    return {
        str(ParamPath.site_param(p.name, s.label, "occ"))
        for p in problem.phases
        for s in p.sites
        if s.occupancy < 1.0 - 1e-6
    }


def _usable(active: list[str], problem: Problem, engine: Engine, warnings: list[str]) -> list[str]:
    """Drop or prepare parameters that cannot be refined as they stand."""
    out = []
    values = engine.values()
    for n in active:
        path = ParamPath.parse(n)
        if path.is_po:
            terms = problem.phase_terms.get(path.phase)
            if terms is None or terms.po_axis is None:
                msg = f"{n} not refined: no preferred-orientation axis set for {path.phase}"
                if msg not in warnings:
                    warnings.append(msg)
                continue
        if path.group == "size" and values[n] <= 0:
            # 0 means "no size broadening"; start from 1 µm, GSAS-II's default
            engine.set_values({n: 1.0})
        out.append(n)
    return out


def _f(v: float) -> float | None:
    import math

    return float(v) if math.isfinite(v) else None
