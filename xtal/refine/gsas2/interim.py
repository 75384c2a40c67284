"""Interim driver: the recipe's stages on the GSAS-II engine → :class:`Result`.

Stands in for the engine-neutral ``xtal.refine.strategy.run`` and
``xtal.refine.assemble.build_result`` until they land; it follows them: stage
patterns are expanded over the engine's parameter paths, ``fix`` is applied, stages
that add nothing are skipped, and every figure of merit is computed from the
engine's curves as xtal computes it for its own engine (R factors and Hill–Howard
weight fractions, physics.md §7; R_Bragg from Rietveld-partitioned intensities with
each peak's profile drawn from its position and widths).  When the seam lands,
``xtal.refine(..., engine="gsas2")`` replaces :func:`refine_gsas2` and this module goes.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from xtal.errors import InputError, RefinementError
from xtal.refine.gsas2.seam import EngineOutput, Problem, StageSpec
from xtal.refine.parameters import match_names, parse_constraint
from xtal.refine.result import Curves, PhaseResult, Result, Value

Progress = Callable[[str, int, float], None]


def make_problem(pattern, phases, instrument, recipe, *, two_theta_range=None, exclude=(),
                 restraints=(), fcj=None, background_points=None,
                 preferred_orientation=None) -> Problem:
    """A :class:`Problem` from what ``xtal.refine`` takes (files resolved, range applied)."""
    import os

    from xtal.refine import api
    from xtal.refine.recipe import Recipe, load_recipe

    pat = api._pattern(pattern)
    if two_theta_range is not None or exclude:
        lo, hi = two_theta_range if two_theta_range is not None else (None, None)
        pat = pat.select(lo, hi, list(exclude))
    pat.check_counts()
    loaded = [api._phase(p) for p in phases]
    if not loaded:
        raise InputError("no phases given")
    rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    notes: list[str] = []
    fixed = None
    if background_points is not None:
        from xtal.io.background_points import interpolate_points, read_background_points

        pts = (read_background_points(background_points)
               if isinstance(background_points, str | os.PathLike)
               else np.asarray(background_points))
        fixed = interpolate_points(pts, pat.x)
    return Problem(
        pattern=pat, phases=tuple(loaded), instrument=api._instrument(instrument, pat),
        recipe=rec,
        restraints=tuple(restraints) + tuple(api._recipe_restraints(rec, loaded, notes)),
        fixed_background=fixed,
        phase_terms=api._phase_terms(rec, loaded, preferred_orientation or {}),
        fcj=fcj or rec.fcj, notes=tuple(notes))


def run(problem: Problem, engine, *, constraints: Sequence[str] = (), fix: Sequence[str] = (),
        start: Mapping[str, float] | None = None, progress: Progress | None = None) -> Result:
    """The recipe's stages on ``engine`` (as ``xtal.refine.strategy.run`` does)."""
    names = engine.setup(problem)
    warnings = list(problem.notes)
    parsed = []
    for text in list(problem.recipe.constraints) + list(constraints):
        try:
            parsed += parse_constraint(text, names)
        except InputError as exc:
            if text in constraints:
                raise
            warnings.append(f"recipe constraint '{text}' not applied: {exc.message}")
    engine.constrain(parsed)
    engine.set_values(dict(start or {}))
    partial = {f"phases.{p.name}.sites.{s.label}.occ" for p in problem.phases
               for s in p.sites if s.occupancy < 1 - 1e-6}
    refine_set: list[str] = []
    previous = None
    stages, stopped = [], None
    for stage in problem.recipe.stages:
        if stage.replace:
            refine_set = []
        for pat in stage.refine:
            try:
                hits = match_names(pat, names)
            except InputError:
                continue
            if stage.partial_occupancy_only:
                hits = [h for h in hits if h in partial]
            refine_set += [h for h in hits if h not in refine_set]
        active = [n for n in refine_set if not any(fnmatch.fnmatchcase(n, f) for f in fix)]
        active = _usable(active, problem, engine, warnings)
        if previous is not None and set(active) == set(previous):
            continue
        previous = list(active)
        rep = engine.run_stage(StageSpec(stage.name, tuple(active), stage.cycles,
                                         stage.tolerance), progress)
        warnings += rep.warnings
        stages.append({"name": stage.name, "cycles": rep.cycles, "chi2_start": _f(rep.chi2_start),
                       "chi2": _f(rep.chi2), "converged": rep.converged, "stopped": rep.stopped,
                       "refined": len(active)})
        if rep.stopped:
            stopped = f"stage '{stage.name}': {rep.stopped}"
            break
    if previous is None:
        raise RefinementError("the recipe has no stages")
    return build_result(engine.output(), problem, stages, warnings, stopped)


def _usable(active: list[str], problem: Problem, engine, warnings: list[str]) -> list[str]:
    out = []
    values = engine.values()
    for n in active:
        if n.endswith(".po.ratio"):
            phase = n.split(".")[1]
            terms = problem.phase_terms.get(phase)
            if terms is None or terms.po_axis is None:
                msg = f"{n} not refined: no preferred-orientation axis set for {phase}"
                if msg not in warnings:
                    warnings.append(msg)
                continue
        if n.endswith(".size") and values[n] <= 0:
            engine.set_values({n: 1.0})  # 0 means "none"; start from 1 µm, GSAS-II's default
        out.append(n)
    return out


def build_result(out: EngineOutput, problem: Problem, stages: list[dict], warnings: list[str],
                 stopped: str | None) -> Result:
    """A :class:`Result` from an engine's final state (as ``xtal.refine.assemble`` does)."""
    from xtal import __version__

    yo, yc, yb, sig = out.observed, out.calculated, out.background, out.sigma
    w = 1.0 / sig**2
    dof = max(yo.size - out.n_free, 1)
    chi2 = float(np.sum(w * (yo - yc) ** 2))
    rwp = float(np.sqrt(chi2 / np.sum(w * yo**2)))
    rexp = float(np.sqrt(dof / np.sum(w * yo**2)))
    esd = {}
    if out.covariance is not None:
        esd = {n: float(np.sqrt(d)) for n, d in zip(out.refined, np.diag(out.covariance),
                                                     strict=True) if d > 0}
    params = {n: Value(v, esd.get(n)) for n, v in out.values.items()}
    corr = _correlations(out)
    if corr:
        warnings = [*warnings, "strongly correlated (|ρ| > 0.9): "
                    + "; ".join(f"{a} / {b} ({r:+.2f})" for a, b, r in corr)]
    net = yo - yb
    return Result(
        rwp=rwp, rp=float(np.sum(np.abs(yo - yc)) / np.sum(np.abs(yo))), rexp=rexp,
        gof=rwp / rexp, chi2=chi2 / dof,
        rwp_background_subtracted=float(np.sqrt(chi2 / max(np.sum(w * net**2), 1e-300))),
        rp_background_subtracted=float(np.sum(np.abs(yo - yc)) / max(np.sum(np.abs(net)),
                                                                     1e-300)),
        n_points=int(yo.size), n_parameters=out.n_free, parameters=params,
        phases=_phase_results(out, params), instrument=out.instrument,
        curves=Curves(out.x, yo, yc, yb, sig, dict(out.phase_curves)), correlations=corr,
        stages=stages, warnings=list(warnings), stopped=stopped, recipe=problem.recipe.name,
        data_source=problem.pattern.source, engine=out.engine,
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        xtal_version=__version__)


def _phase_results(out: EngineOutput, params: dict[str, Value]) -> dict[str, PhaseResult]:
    scales = {n: out.values[f"phases.{n}.scale"] for n in out.phases}
    zmv = {n: p.zmv for n, p in out.phases.items()}
    total = sum(scales[n] * zmv[n] for n in scales)
    keys = [f"phases.{n}.scale" for n in scales]
    cov = _block(out, keys)
    res = {}
    for n, ph in out.phases.items():
        wf = scales[n] * zmv[n] / total if total > 0 else float("nan")
        wf_esd = None
        if cov is not None and len(scales) > 1 and np.any(cov):
            grad = np.array([(zmv[n] if k == n else 0.0) / total
                             - scales[n] * zmv[n] * zmv[k] / total**2 for k in scales])
            wf_esd = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
        pre = f"phases.{n}."
        cell = {k: params[pre + "cell." + k] for k in ("a", "b", "c", "alpha", "beta", "gamma")}
        cell["volume"] = Value(ph.cell.volume, _volume_esd(out, n, ph))
        sites = {s.label: {k: params[f"{pre}sites.{s.label}.{k}"]
                           for k in ("x", "y", "z", "occ", "biso")} for s in ph.sites}
        rb, refl = _r_bragg(out, n, ph)
        res[n] = PhaseResult(n, ph, cell, params[pre + "scale"], Value(wf, wf_esd), rb, sites,
                             refl)
    return res


def _block(out: EngineOutput, keys: list[str]) -> np.ndarray | None:
    if out.covariance is None:
        return None
    idx = {n: i for i, n in enumerate(out.refined)}
    sub = np.zeros((len(keys), len(keys)))
    for a, ka in enumerate(keys):
        for b, kb in enumerate(keys):
            if ka in idx and kb in idx:
                sub[a, b] = out.covariance[idx[ka], idx[kb]]
    return sub


def _volume_esd(out: EngineOutput, name: str, phase) -> float | None:
    keys = [f"phases.{name}.cell.{k}" for k in ("a", "b", "c", "alpha", "beta", "gamma")]
    cov = _block(out, keys)
    if cov is None or not np.any(cov):
        return None
    base = phase.cell
    grad = []
    for k in ("a", "b", "c", "alpha", "beta", "gamma"):
        h = 1e-6 * max(getattr(base, k), 1.0)
        grad.append((base.replace(**{k: getattr(base, k) + h}).volume - base.volume) / h)
    g = np.array(grad)
    return float(np.sqrt(max(g @ cov @ g, 0.0)))


def _r_bragg(out: EngineOutput, name: str, phase) -> tuple[float, dict]:
    """R_Bragg from Rietveld-partitioned intensities (physics.md §7) and the reflection table."""
    from xtal.diffraction.profile import render_peaks

    pk = out.peaks[name]
    scale = out.values[f"phases.{name}.scale"]
    _, prof = render_peaks(out.x, pk.pos, pk.area, pk.fwhm_g, pk.fwhm_l, pk.sh_l, True, out.fcj,
                           True)
    net = out.calculated - out.background
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.abs(net) > 1e-12 * max(np.abs(net).max(), 1e-300),
                         (out.observed - out.background) / net, 0.0)
    nref = len(out.hkl[name])
    i_calc = np.bincount(pk.ref, scale * pk.area * prof.peak_sums(np.ones_like(net)), nref)
    i_obs = np.bincount(pk.ref, scale * pk.area * prof.peak_sums(ratio), nref)
    seen = i_calc > 1e-9 * max(i_calc.max(), 1e-300) if nref else np.zeros(0, bool)
    rb = float(np.sum(np.abs(i_obs[seen] - i_calc[seen])) / max(np.sum(np.abs(i_obs[seen])),
                                                                1e-300))
    first = pk.line == 0
    tth = np.full(nref, np.nan)
    tth[pk.ref[first]] = pk.pos[first]
    d = phase.cell.d_spacing(out.hkl[name].astype(float)) if nref else np.zeros(0)
    return rb, {"hkl": out.hkl[name][seen].tolist(), "d": d[seen].tolist(),
                "two_theta": tth[seen].tolist(),
                "multiplicity": out.multiplicity[name][seen].tolist(),
                "i_calc": i_calc[seen].tolist(), "i_obs": i_obs[seen].tolist()}


def _correlations(out: EngineOutput) -> list[tuple[str, str, float]]:
    cov = out.covariance
    if cov is None:
        return []
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    pairs = []
    for i in range(len(out.refined)):
        for j in range(i + 1, len(out.refined)):
            if sd[i] <= 0 or sd[j] <= 0:
                continue
            rho = float(np.clip(cov[i, j] / (sd[i] * sd[j]), -1, 1))
            if abs(rho) <= 0.9:
                continue
            if out.free_map is not None:
                ri, rj = out.free_map[i], out.free_map[j]
                if abs(ri @ rj) / max(np.linalg.norm(ri) * np.linalg.norm(rj), 1e-300) > 1 - 1e-9:
                    continue  # moved together by a constraint
            pairs.append((out.refined[i], out.refined[j], rho))
    return pairs


def _f(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def refine_gsas2(pattern, phases, instrument=None, recipe=None, *, two_theta_range=None,
                 exclude=(), fix=(), constraints=(), restraints=(), fcj=None,
                 background_points=None, preferred_orientation=None, start=None,
                 progress: Progress | None = None, files_to=None,
                 engine_object=None) -> Result:
    """``xtal.refine(...)`` with GSAS-II as the engine (same arguments).

    ``engine_object``: a set-up-ready engine to use (the caller closes it).
    """
    from xtal.refine.gsas2.engine import GsasEngine

    problem = make_problem(pattern, phases, instrument, recipe, two_theta_range=two_theta_range,
                           exclude=exclude, restraints=restraints, fcj=fcj,
                           background_points=background_points,
                           preferred_orientation=preferred_orientation)
    if engine_object is not None:
        return run(problem, engine_object, constraints=constraints, fix=fix, start=start,
                   progress=progress)
    with GsasEngine(files_to=files_to) as engine:
        return run(problem, engine, constraints=constraints, fix=fix, start=start,
                   progress=progress)
