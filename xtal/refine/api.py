"""``xtal.refine``: from a measured pattern and starting phases to a :class:`Result`."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.diffraction.simulate import PhaseTerms
from xtal.errors import InputError, RefinementError
from xtal.refine.model import Data, HaloSpec, RietveldModel
from xtal.refine.parameters import Restraint, match_names, parse_constraint
from xtal.refine.recipe import Recipe, load_recipe
from xtal.refine.result import Curves, PhaseResult, Result, Value
from xtal.refine.solver import FitState, Solver

Progress = Callable[[str, int, float], None]


def refine(
    pattern: Pattern | str | os.PathLike[str],
    phases: Sequence[Phase | str | os.PathLike[str]],
    instrument: Instrument | str | os.PathLike[str] | None = None,
    recipe: Recipe | str | os.PathLike[str] | None = None,
    *,
    two_theta_range: tuple[float, float] | None = None,
    exclude: Sequence[tuple[float, float]] = (),
    fix: Sequence[str] = (),
    constraints: Sequence[str] = (),
    restraints: Sequence[Restraint] = (),
    fcj: str | None = None,
    background_points: Sequence[tuple[float, float]] | str | os.PathLike[str] | None = None,
    preferred_orientation: dict[str, tuple[int, int, int]] | None = None,
    exact_esds: bool = False,
    progress: Progress | None = None,
) -> Result:
    """Rietveld refinement of one pattern against one or more phases.

    Parameters
    ----------
    pattern
        A :class:`Pattern` or a file :func:`xtal.read_pattern` can read (first scan).
    phases
        Starting models: :class:`Phase` objects, shipped/registered names or CIF paths.
    instrument
        An :class:`Instrument`, an ``.instprm``/``.prm`` file, or None: Cu Kα1/Kα2
        defaults with the wavelengths the data file states.
    recipe
        A :class:`Recipe`, a TOML file or a shipped name (default ``standard``).
    two_theta_range
        Refine only lo ≤ 2θ ≤ hi.
    exclude
        2θ regions left out (e.g. a Be-window or holder peak).
    fix
        Parameter names (wildcards allowed) never refined, whatever the recipe says.
    constraints
        Extra linear constraints (see :func:`xtal.refine.parameters.parse_constraint`).
    restraints
        Extra distance restraints.
    fcj
        Axial-divergence quadrature, ``"fast"`` or ``"exact"`` (:mod:`xtal.diffraction.fcj`);
        default: the recipe's.
    background_points
        A fixed background given as (2θ, intensity) points or a file of them
        (two columns, e.g. FullProf's ``.BGR``), interpolated linearly and added
        to the refined background; it is not refined.
    preferred_orientation
        March–Dollase axis (hkl of the reciprocal-lattice direction) per phase name;
        the ratio ``phases.<name>.po.ratio`` is then refinable.  A recipe may set it
        too: ``[phase."<name>"] po_axis = [0, 0, 1]``.
    exact_esds
        Compute the final covariance from differences of the drawn pattern rather
        than from the analytic profile derivatives (which agree to ~2 %).
    progress
        Called with (stage, cycle, Rwp) after every accepted cycle.

    Returns
    -------
    Result
        Values with esds, R factors, weight fractions, curves; ``Result.stopped``
        says why a refinement stopped early (e.g. a singular normal matrix),
        in which case the values are the last good ones.
    """
    pat = _pattern(pattern)
    if two_theta_range is not None or exclude:
        lo, hi = two_theta_range if two_theta_range is not None else (None, None)
        pat = pat.select(lo, hi, list(exclude))
    pat.check_counts()
    if pat.x[0] <= 0 or pat.x[-1] >= 180:
        raise InputError("2θ values must lie in (0, 180) degrees", pat.source)
    loaded = [_phase(p) for p in phases]
    if not loaded:
        raise InputError("no phases given")
    inst = _instrument(instrument, pat)
    rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)

    data = Data(pat.x, pat.y, pat.esd())
    fixed_bg = None
    if background_points is not None:
        from xtal.io.background_points import interpolate_points, read_background_points

        pts = (
            read_background_points(background_points)
            if isinstance(background_points, str | os.PathLike)
            else np.asarray(background_points)
        )
        fixed_bg = interpolate_points(pts, pat.x)
    model = RietveldModel(
        data,
        loaded,
        inst,
        n_background=rec.chebyshev,
        halos=[HaloSpec(h.position, h.fwhm, 0.0, h.lorentz_fraction) for h in rec.halos],
        fcj=fcj or rec.fcj,
        fixed_background=fixed_bg,
        terms=_phase_terms(rec, loaded, preferred_orientation or {}),
    )
    warnings: list[str] = []
    names = model.params.names
    for text in list(rec.constraints) + list(constraints):
        try:
            model.params.constraints.extend(parse_constraint(text, names))
        except InputError as exc:
            if text in constraints:
                raise
            warnings.append(f"recipe constraint '{text}' not applied: {exc.message}")
    rs = list(restraints) + _recipe_restraints(rec, loaded, warnings)
    solver = Solver(model, rs, progress, exact_esds=exact_esds)

    refine_set: list[str] = []
    previous: list[str] = []
    stage_logs: list[dict] = []
    stopped: str | None = None
    state: FitState | None = None
    partial = {
        f"phases.{p.name}.sites.{s.label}.occ"
        for p in loaded
        for s in p.sites
        if s.occupancy < 1.0 - 1e-6
    }
    for stage in rec.stages:
        if stage.replace:
            refine_set = []
        for pat_name in stage.refine:
            try:
                matched = match_names(pat_name, names)
            except InputError:
                continue  # e.g. a halo or phase this refinement does not have
            if stage.partial_occupancy_only:
                matched = [m for m in matched if m in partial]
            refine_set += [m for m in matched if m not in refine_set]
        active = [n for n in refine_set if not any(_match(n, f) for f in fix)]
        active = _usable(active, model, warnings)
        if state is not None and set(active) == set(previous):
            continue  # the stage adds nothing: the previous one already refined all of it
        previous = list(active)
        model.params.set_refine(active)
        outcome, state = solver.run(stage.name, stage.cycles, stage.tolerance)
        stage_logs.append(
            {
                "name": stage.name,
                "cycles": outcome.cycles,
                "chi2_start": _f(outcome.chi2_start),
                "chi2": _f(outcome.chi2),
                "converged": outcome.converged,
                "stopped": outcome.stopped,
                "refined": len(active),
            }
        )
        if outcome.stopped:
            stopped = f"stage '{stage.name}': {outcome.stopped}"
            break
    if state is None:
        raise RefinementError("the recipe has no stages")
    state = solver.final_state()
    return _result(model, solver, state, rec, pat, stage_logs, warnings, stopped)


def _phase_terms(
    rec: Recipe, phases: list[Phase], axes: dict[str, tuple[int, int, int]]
) -> dict[str, PhaseTerms]:
    """Preferred-orientation axes from the recipe's [phase.<name>] tables and the caller."""
    import fnmatch

    out = {}
    for p in phases:
        axis = axes.get(p.name)
        for pattern, opts in rec.phase_options.items():
            if axis is None and fnmatch.fnmatchcase(p.name, pattern) and "po_axis" in opts:
                axis = opts["po_axis"]
        if axis is not None:
            if len(axis) != 3 or not all(isinstance(v, int) for v in axis) or not any(axis):
                raise InputError(
                    f"preferred-orientation axis of {p.name} must be three integers "
                    f"hkl, not {axis!r}"
                )
            out[p.name] = PhaseTerms(po_axis=tuple(axis))
    return out


def _usable(active: list[str], model: RietveldModel, warnings: list[str]) -> list[str]:
    """Drop or prepare parameters that cannot be refined as they stand."""
    out = []
    for n in active:
        if n.endswith(".po.ratio"):
            phase = n.split(".")[1]
            if model.calcs[phase].terms.po_axis is None:
                msg = f"{n} not refined: no preferred-orientation axis set for {phase}"
                if msg not in warnings:
                    warnings.append(msg)
                continue
        if n.endswith(".size") and model.params[n].value <= 0:
            # 0 means "no size broadening"; start from 1 µm, GSAS-II's default
            model.params[n].value = 1.0
        out.append(n)
    return out


def _match(name: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern)


def _f(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def _pattern(p: Pattern | str | os.PathLike[str]) -> Pattern:
    if isinstance(p, Pattern):
        return p
    from xtal.io.patterns import read_pattern

    return read_pattern(p)[0]


def _phase(p: Phase | str | os.PathLike[str]) -> Phase:
    if isinstance(p, Phase):
        return p
    from xtal.crystal.library import load_phase

    return load_phase(p)


def _instrument(inst: Instrument | str | os.PathLike[str] | None, pat: Pattern) -> Instrument:
    if isinstance(inst, Instrument):
        return inst
    if inst is not None:
        from xtal.io.instprm import read_instrument

        return read_instrument(inst)
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


def _recipe_restraints(rec: Recipe, phases: list[Phase], warnings: list[str]) -> list[Restraint]:
    import fnmatch

    out = []
    for r in rec.restraints:
        hits = [
            p
            for p in phases
            if fnmatch.fnmatchcase(p.name, r.phase)
            and {r.site1, r.site2} <= {s.label for s in p.sites}
        ]
        if not hits:
            warnings.append(f"restraint {r.site1}–{r.site2} matches no phase; not applied")
        out += [Restraint(p.name, r.site1, r.site2, r.distance, r.sigma) for p in hits]
    return out


def _result(
    model: RietveldModel,
    solver: Solver,
    state: FitState,
    rec: Recipe,
    pat: Pattern,
    stage_logs: list[dict],
    warnings: list[str],
    stopped: str | None,
) -> Result:
    from xtal import __version__

    d = model.data
    v = state.values
    n, p = d.x.size, state.n_free
    dof = max(n - p, 1)
    chi2_nu = state.chi2_pattern / dof
    w = 1.0 / d.sigma**2
    ev = model.evaluate(v, profiles=True)  # curves and peak profiles of the final state
    lin_idx = {nme: i for i, nme in enumerate(ev.linear_names)}
    bg = model.fixed_background.copy()
    for nme in ev.linear_names:
        if not nme.endswith(".scale"):
            bg += ev.basis[:, lin_idx[nme]] * v[nme]
    phase_curves = {nm: ev.phase_curves[nm] * v[f"phases.{nm}.scale"] for nm in model.calcs}
    yc = bg + sum(phase_curves.values())
    yo = d.y
    rwp = float(np.sqrt(np.sum(w * (yo - yc) ** 2) / np.sum(w * yo**2)))
    rp = float(np.sum(np.abs(yo - yc)) / np.sum(np.abs(yo)))
    rexp = float(np.sqrt(dof / np.sum(w * yo**2)))
    net = yo - bg
    rwp_b = float(np.sqrt(np.sum(w * (yo - yc) ** 2) / max(np.sum(w * net**2), 1e-300)))
    rp_b = float(np.sum(np.abs(yo - yc)) / max(np.sum(np.abs(net)), 1e-300))

    # esds: sqrt(C_kk χ²_ν)
    esd: dict[str, float] = {}
    cov = None
    if state.covariance is not None:
        cov = state.covariance * chi2_nu
        for i, nme in enumerate(state.names):
            esd[nme] = float(np.sqrt(max(cov[i, i], 0.0)))
    params = {
        # a refined parameter that constraints hold fixed (a cubic α) has no esd either
        nme: Value(par.value, (esd.get(nme) or None) if par.refine else None)
        for nme, par in model.params.params.items()
    }
    correlations = _correlations(state, cov, model)
    if correlations:
        warnings.append(
            "strongly correlated (|ρ| > 0.9): "
            + "; ".join(f"{a} / {b} ({r:+.2f})" for a, b, r in correlations)
        )

    phases = {}
    zmv = {nm: model.phase_at(nm, v).zmv for nm in model.calcs}
    scales = {nm: v[f"phases.{nm}.scale"] for nm in model.calcs}
    total = sum(scales[k] * zmv[k] for k in zmv)
    for nm, calc in model.calcs.items():
        ph = model.phase_at(nm, v)
        wf, wf_esd = _weight_fraction(nm, scales, zmv, state, cov)
        cellv = {
            k: params[f"phases.{nm}.cell.{k}"] for k in ("a", "b", "c", "alpha", "beta", "gamma")
        }
        cellv["volume"] = Value(ph.cell.volume, _volume_esd(nm, ph, state, cov))
        sites = {
            s.label: {
                k: params[f"phases.{nm}.sites.{s.label}.{k}"]
                for k in ("x", "y", "z", "occ", "biso")
            }
            for s in ph.sites
        }
        rb, refl = _r_bragg(calc, ev, nm, v, yo, yc, bg, model)
        phases[nm] = PhaseResult(
            nm,
            ph,
            cellv,
            params[f"phases.{nm}.scale"],
            Value(wf if total > 0 else float("nan"), wf_esd),
            rb,
            sites,
            refl,
        )
        if any(s.b_iso <= 0 for s in ph.sites) and any(
            params[f"phases.{nm}.sites.{s.label}.biso"].esd is not None for s in ph.sites
        ):
            warnings.append(f"{nm}: some B_iso reached 0 (held at the bound)")
    inst = model.instrument_from(v)
    return Result(
        rwp=rwp,
        rp=rp,
        rexp=rexp,
        gof=rwp / rexp,
        chi2=chi2_nu,
        rwp_background_subtracted=rwp_b,
        rp_background_subtracted=rp_b,
        n_points=n,
        n_parameters=p,
        parameters=params,
        phases=phases,
        instrument=inst,
        curves=Curves(d.x, yo, yc, bg, d.sigma, phase_curves),
        correlations=correlations,
        stages=stage_logs,
        warnings=warnings,
        stopped=stopped,
        recipe=rec.name,
        data_source=pat.source,
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        xtal_version=__version__,
    )


def _correlations(state: FitState, cov: np.ndarray | None, model: RietveldModel):
    """Pairs with |ρ| > 0.9, leaving out pairs that constraints tie together (a = b)."""
    if cov is None:
        return []
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    rows = state.mapping
    out = []
    names = state.names
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if sd[i] <= 0 or sd[j] <= 0:
                continue
            rho = cov[i, j] / (sd[i] * sd[j])
            if abs(rho) <= 0.9:
                continue
            if rows is not None:
                ri, rj = rows[i], rows[j]
                cos = abs(ri @ rj) / max(np.linalg.norm(ri) * np.linalg.norm(rj), 1e-300)
                if cos > 1 - 1e-9:
                    continue  # moved together by a constraint
            out.append((names[i], names[j], float(rho)))
    return out


def _weight_fraction(name, scales, zmv, state: FitState, cov):
    """W_p = S_p z_p / Σ S_k z_k and its esd from the scales' covariance (z = ZMV exact)."""
    total = sum(scales[k] * zmv[k] for k in zmv)
    if total <= 0:
        return float("nan"), None
    wf = scales[name] * zmv[name] / total
    idx = {n: i for i, n in enumerate(state.names)}
    keys = [k for k in scales if f"phases.{k}.scale" in idx]
    if cov is None or not keys or len(scales) == 1:
        return wf, None  # a single phase is 100 % by definition
    # ∂W_p/∂S_k = z_p δ_pk / T − S_p z_p z_k / T²
    grad = np.array(
        [
            (zmv[name] if k == name else 0.0) / total - scales[name] * zmv[name] * zmv[k] / total**2
            for k in keys
        ]
    )
    sub = [idx[f"phases.{k}.scale"] for k in keys]
    return wf, float(np.sqrt(max(grad @ cov[np.ix_(sub, sub)] @ grad, 0.0)))


def _volume_esd(name: str, phase: Phase, state: FitState, cov) -> float | None:
    if cov is None:
        return None
    keys = [f"phases.{name}.cell.{k}" for k in ("a", "b", "c", "alpha", "beta", "gamma")]
    idx = {n: i for i, n in enumerate(state.names)}
    if not any(k in idx for k in keys):
        return None
    base = phase.cell
    grad = []
    for k in keys:
        attr = k.rsplit(".", 1)[1]
        h = 1e-6 * max(getattr(base, attr), 1.0)
        grad.append((base.replace(**{attr: getattr(base, attr) + h}).volume - base.volume) / h)
    present = [i for i, k in enumerate(keys) if k in idx]
    g = np.array([grad[i] for i in present])
    sub = [idx[keys[i]] for i in present]
    return float(np.sqrt(max(g @ cov[np.ix_(sub, sub)] @ g, 0.0)))


def _r_bragg(calc, ev, name, v, yo, yc, bg, model):
    """R_Bragg from Rietveld-partitioned intensities, and the per-reflection table."""
    prof = ev.derivs[name]
    pk = ev.peaks[name]
    scale = v[f"phases.{name}.scale"]
    net_calc = yc - bg
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            np.abs(net_calc) > 1e-12 * max(np.abs(net_calc).max(), 1e-300),
            (yo - bg) / net_calc,
            0.0,
        )
    drawn = prof.peak_sums(np.ones_like(yo))
    share = prof.peak_sums(ratio)
    i_calc_pk = scale * pk["area"] * drawn
    i_obs_pk = scale * pk["area"] * share
    nref = len(calc.hkl)
    i_calc = np.bincount(pk["ref"], weights=i_calc_pk, minlength=nref)
    i_obs = np.bincount(pk["ref"], weights=i_obs_pk, minlength=nref)
    seen = i_calc > 1e-9 * max(i_calc.max(), 1e-300)
    rb = float(
        np.sum(np.abs(i_obs[seen] - i_calc[seen])) / max(np.sum(np.abs(i_obs[seen])), 1e-300)
    )
    lam = model.instrument_from(v).lam1
    d = calc.cell_from(v).d_spacing(calc.hkl)
    tth = np.degrees(2 * np.arcsin(np.minimum(lam / (2 * d), 1.0)))
    refl = {
        "hkl": calc.hkl[seen].astype(int).tolist(),
        "d": d[seen].tolist(),
        "two_theta": (tth + model.instrument_from(v).shift(tth))[seen].tolist(),
        "multiplicity": calc.mult[seen].astype(int).tolist(),
        "i_calc": i_calc[seen].tolist(),
        "i_obs": i_obs[seen].tolist(),
    }
    return rb, refl
