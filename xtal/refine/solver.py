"""Damped least squares (Levenberg–Marquardt) with linear parameters solved exactly.

Minimises χ² = Σ w (y_obs − y_calc)² + Σ restraint² (physics.md §7).

* Nonlinear parameters move along the null space of the constraints,
  p = p₀ + A u (:meth:`ParameterSet.mapping`).
* Linear parameters (scales, background coefficients, halo areas) are solved
  by weighted linear least squares at every trial point (variable projection,
  Golub & Pereyra 1973; scales and halo areas kept ≥ 0); the step itself uses the
  joint Jacobian, whose normal matrix also gives the esds of both kinds.
* Ill-conditioning is handled as mature programs do (GSAS-II's SVD cut-off; Press
  et al., Numerical Recipes §15.4): the normal matrix, scaled to unit diagonal, is
  decomposed into eigenvectors; directions whose eigenvalue is below
  :data:`SVD_CUTOFF` × the largest are neither stepped along nor given an esd, and
  the parameter combination is named in a warning.  Within the kept directions the
  step is Marquardt-damped; a step that raises χ² is rejected and the damping
  raised.  A stage stops only when no step lowers χ², keeps the last good point,
  and never ends above the χ² it started from.
* esd_k = sqrt(C_kk · χ²_ν), C the pseudo-inverse of JᵀWJ over the kept
  directions, χ²_ν = χ² / (N − P); correlations from the same C lie in [−1, 1].
  A parameter in an unresolved direction, or held at a bound, gets no esd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from xtal.refine.model import RietveldModel
from xtal.refine.parameters import Restraint

SVD_CUTOFF = 1e-9  # relative eigenvalue of the scaled normal matrix below which no step is taken
MAX_PLAN_ROUNDS = 4  # times a stage continues after its end-of-stage refresh moved χ²
PLAN_TOLERANCE = 1e-3  # relative χ² change a plan refresh may cause before the stage goes on
LE_BAIL_START = 5  # Le Bail iterations at the start of a stage (one after each accepted step)
LE_BAIL_END = 20  # and at its end, before deciding whether it has converged


@dataclass
class StageOutcome:
    """What one stage did."""

    name: str
    cycles: int = 0
    chi2_start: float = float("nan")
    chi2: float = float("nan")
    converged: bool = False
    stopped: str | None = None  # reason when the stage was stopped
    warnings: list[str] = field(default_factory=list)


@dataclass
class FitState:
    """The accepted point and what the solver knows there."""

    values: dict[str, float]
    ycalc: np.ndarray
    chi2: float
    chi2_pattern: float
    names: list[str] = field(default_factory=list)  # refined parameters (esd order)
    covariance: np.ndarray | None = None  # in parameter space, unscaled (JᵀWJ)⁺
    n_free: int = 0
    mapping: np.ndarray | None = None  # rows: d(parameter)/d(free variables), names order
    unresolved: list[str] = field(default_factory=list)  # parameters without an esd
    at_bound: list[str] = field(default_factory=list)


@dataclass
class _Stage:
    """The parameter map of one stage and the point it has reached."""

    nl: list[str]
    lin: list[str]
    p0: np.ndarray
    amap: np.ndarray
    base: dict[str, float]
    bounds: list[tuple[float | None, float | None]]
    movable: list[str]
    u: np.ndarray

    def at(self, u: np.ndarray) -> dict[str, float]:
        vv = dict(self.base)
        for n, val in zip(self.nl, self.p0 + self.amap @ u, strict=True):
            vv[n] = float(val)
        return vv


class Solver:
    """Runs refinement stages on a :class:`RietveldModel`.

    Parameters
    ----------
    model
        The model; its ``params`` carry values and refine flags.
    restraints
        Soft distance restraints.
    progress
        Called as ``progress(stage_name, cycle, rwp)`` after each accepted cycle.
    """

    def __init__(
        self,
        model: RietveldModel,
        restraints: list[Restraint] | None = None,
        progress: Callable[[str, int, float], None] | None = None,
        exact_esds: bool = False,
    ) -> None:
        self.model = model
        self.exact_esds = exact_esds
        self.restraints = list(restraints or [])
        self.progress = progress
        self._last: _Stage | None = None
        d = model.data
        self.sw = 1.0 / d.sigma
        self.wy2 = float(np.sum((d.y * self.sw) ** 2))

    # -- one point --------------------------------------------------------------------
    def _point(
        self,
        values: dict[str, float],
        lin_ref: list[str],
        jac_for: list[str] | None,
        exact: bool = False,
    ):
        m = self.model
        ev = m.evaluate(values, None)
        idx = {n: i for i, n in enumerate(ev.linear_names)}
        fixed = [n for n in ev.linear_names if n not in lin_ref]
        y_fixed = sum((ev.basis[:, idx[n]] * values[n] for n in fixed), m.fixed_background.copy())
        v = dict(values)
        if lin_ref:
            phi = ev.basis[:, [idx[n] for n in lin_ref]]
            lower = np.array([_lower(m.params[n].lower) for n in lin_ref])
            coef = _linear_solve(phi * self.sw[:, None], (m.data.y - y_fixed) * self.sw, lower)
            for n, c in zip(lin_ref, coef, strict=True):
                v[n] = float(c)
            ycalc = y_fixed + phi @ coef
        else:
            phi = np.zeros((m.data.x.size, 0))
            ycalc = y_fixed
        r = (m.data.y - ycalc) * self.sw
        chi2_pat = float(r @ r)
        rr = self._restraint_residuals(v)
        jac = None
        if jac_for is not None:
            ev2 = m.evaluate(v, jac_for, exact) if jac_for else ev
            jn = ev2.jacobian if jac_for else np.zeros((m.data.x.size, 0))
            jac = (jn, phi, jac_for)
        return v, ycalc, r, rr, chi2_pat + float(rr @ rr), chi2_pat, jac

    def _restraint_residuals(self, v: dict[str, float]) -> np.ndarray:
        if not self.restraints:
            return np.zeros(0)
        from xtal.refine.geometry import shortest_distance

        out = []
        for rs in self.restraints:
            ph = self.model.phase_at(rs.phase, v)
            out.append((shortest_distance(ph, rs.site1, rs.site2) - rs.target) / rs.sigma)
        return np.array(out)

    # -- a stage ----------------------------------------------------------------------
    def _stage(self) -> _Stage:
        ps = self.model.params
        nl = ps.refined(linear=False)
        lin = ps.refined(linear=True)
        p0, amap = ps.mapping(nl) if nl else (np.zeros(0), np.zeros((0, 0)))
        values = ps.values()
        for n, val in zip(nl, p0, strict=True):
            values[n] = val
        bounds = [(ps[n].lower, ps[n].upper) for n in nl]
        movable = [n for n, row in zip(nl, amap, strict=True) if np.abs(row).max() > 1e-12]
        return _Stage(nl, lin, p0, amap, values, bounds, movable, np.zeros(amap.shape[1]))

    def run(
        self, name: str, max_cycles: int = 20, tolerance: float = 1e-4
    ) -> tuple[StageOutcome, FitState]:
        """Refine the parameters flagged in ``model.params`` until χ² stops falling."""
        st = self._stage()
        out = StageOutcome(name)
        self.model.refresh_plans(st.at(st.u))
        if self.model.has_le_bail:
            self._le_bail(st, LE_BAIL_START)
        point = self._point(st.at(st.u), st.lin, st.movable)
        st.base.update({n: point[0][n] for n in st.lin})
        out.chi2_start = point[4]
        cycles_left = max_cycles
        seen: set[str] = set()
        for _ in range(MAX_PLAN_ROUNDS):
            point, used, converged = self._cycles(
                st, name, cycles_left, tolerance, out, point, seen
            )
            cycles_left -= used
            out.cycles += used
            out.converged = converged
            # the final point is drawn with choices made for it (see plans_stale), and Le
            # Bail intensities are iterated to convergence there
            before = point[4]
            changed = self.model.refresh_plans(st.at(st.u))
            if self.model.has_le_bail:
                self._le_bail(st, LE_BAIL_END)
                changed = True
            if changed:  # χ² only: a Jacobian if the stage goes on
                point = self._point(st.at(st.u), st.lin, None)
                st.base.update({n: point[0][n] for n in st.lin})
            moved = abs(point[4] - before) > PLAN_TOLERANCE * before
            if not moved or cycles_left <= 0 or not st.movable:
                break
        if point[4] > out.chi2_start * (1 + 1e-12):
            # a plan change cost more than the stage gained: keep where the stage began
            st.u = np.zeros_like(st.u)
            self.model.refresh_plans(st.at(st.u))
            point = self._point(st.at(st.u), st.lin, None)
            st.base.update({n: point[0][n] for n in st.lin})
            out.warnings.append(f"stage '{name}' found no better point; kept its start")
        self._stage_notes(st, name, max_cycles, cycles_left, out)
        out.chi2 = point[4]
        final = st.at(st.u)
        final.update({n: st.base[n] for n in st.lin})
        ps = self.model.params
        for n in st.nl + st.lin:
            ps[n].value = final[n]
        st.base = dict(final)
        st.p0 = np.array([final[n] for n in st.nl])
        st.u = np.zeros_like(st.u)
        self._last = st
        return out, FitState(final, point[1], point[4], point[5])

    def _le_bail(self, st: _Stage, iterations: int) -> None:
        """Le Bail iterations at the current point (its linear values solved first)."""
        for _ in range(iterations):
            v = self._point(st.at(st.u), st.lin, None)[0]
            st.base.update({n: v[n] for n in st.lin})
            full = st.at(st.u)
            full.update({n: v[n] for n in st.lin})
            self.model.le_bail_update(full)

    def _promised(self, dec: _Decomposition, st: _Stage, nu: int) -> float:
        """χ² decrease the undamped step promises, once parameters held at a bound are out.

        A parameter already at a bound with a gradient pushing outward makes the plain
        Gauss–Newton promise large for ever; the promise of the step with it held is what
        can be had.  A parameter merely heading for a bound does not count: the damped
        steps can still get there.
        """
        full = dec.predicted()
        if not nu:
            return full
        step = dec.step(0.0)
        p = st.p0 + st.amap @ st.u
        dp = st.amap @ step[:nu]
        lo = np.array([-np.inf if b[0] is None else b[0] for b in st.bounds])
        hi = np.array([np.inf if b[1] is None else b[1] for b in st.bounds])
        tol = 1e-9 * np.maximum(np.abs(p), 1.0)
        held = ((p <= lo + tol) & (dp < 0)) | ((p >= hi - tol) & (dp > 0))
        if not held.any():
            return full
        du = _within_bounds(st.p0, st.amap, st.u, step[:nu], st.bounds)
        d = np.concatenate([du, step[nu:]]) * dec.d  # the step in scaled coordinates
        ns = (dec.v * dec.w) @ dec.v.T
        return float(max(2 * d @ dec.gs - d @ ns @ d, 0.0))

    def _reach(self, st: _Stage) -> np.ndarray:
        """The most each refined parameter may move in one cycle (:func:`max_step`)."""
        ps = self.model.params
        return np.array([max_step(ps[n].path, st.base[n]) for n in st.nl])

    @staticmethod
    def _stage_notes(
        st: _Stage, name: str, max_cycles: int, cycles_left: int, out: StageOutcome
    ) -> None:
        if not st.movable:
            out.cycles = max(out.cycles, 1) if st.lin else 0  # linear parameters: one exact solve
            out.converged = True
            return
        if out.cycles == 0:
            out.warnings.append(
                f"stage '{name}': no step lowered χ² (its parameters were already at their "
                f"best values)"
            )


    def _cycles(
        self,
        st: _Stage,
        name: str,
        max_cycles: int,
        tolerance: float,
        out: StageOutcome,
        point: tuple,
        seen: set[str],
    ):
        """Damped Gauss–Newton cycles from ``point``; returns (point, cycles, converged)."""
        if max_cycles <= 0:
            return point, 0, False
        if point[6] is None:
            point = self._point(st.at(st.u), st.lin, st.movable)
        v, ycalc, r, rr, chi2, chi2_pat, jac = point
        nu, nlin = st.amap.shape[1], len(st.lin)
        tmap = _with_identity(st.amap, nlin)
        names_p = st.nl + st.lin
        lam = 1e-3
        used = 0
        small = 0  # consecutive accepted cycles that gained less than the tolerance
        widen = 1.0  # the reach grows while clipped steps keep succeeding (a trust region)
        for _cycle in range(1, max_cycles + 1):
            jw = self._weighted_jacobian(jac, st.nl, st.amap, r.size)
            jr = self._restraint_jacobian(st.at, st.u, nu, nlin, rr)
            big_j = np.vstack([jw, jr]) if len(jr) else jw
            res = np.concatenate([r, rr])
            dec = _Decomposition(big_j.T @ big_j, big_j.T @ res)
            for key, msg in dec.describe(names_p, tmap):
                if key not in seen:
                    seen.add(key)
                    out.warnings.append(f"stage '{name}': {msg}")
            if self._promised(dec, st, nu) < tolerance * chi2:
                return point, used, True
            accepted = False
            while lam < 1e10:
                raw = dec.step(lam)[:nu]
                du = _within_reach(st, raw, widen * self._reach(st))
                clipped = not np.allclose(du, raw)
                du = _within_bounds(st.p0, st.amap, st.u, du, st.bounds)
                if not self.model.feasible(st.at(st.u + du)):
                    lam *= 10.0  # an unphysical point counts as a rejected step
                    continue
                trial = self._point(st.at(st.u + du), st.lin, None)
                if np.isfinite(trial[4]) and trial[4] < chi2:
                    accepted = True
                    break
                lam *= 10.0
            if not accepted:
                return point, used, True  # no downhill step exists: at the minimum
            st.u = st.u + du
            prev = chi2
            point = trial
            v, ycalc, r, rr, chi2, chi2_pat, _ = point
            st.base.update({n: v[n] for n in st.lin})
            # the quadratic model predicted this step well: let the reach grow
            full = np.concatenate([du, dec.step(lam)[nu:]]) * dec.d
            predicted = 2 * full @ dec.gs - full @ ((dec.v * dec.w) @ dec.v.T) @ full
            good = predicted > 0 and (prev - chi2) > 0.75 * predicted
            # damping after a success follows the gain ratio ρ (Nielsen's rule, Madsen,
            # Nielsen & Tingleff, "Methods for non-linear least squares problems", 2004,
            # eq. 2.21): ×1/3 when the quadratic model was right, less when it was not.  A
            # flat ÷10 let the next step overshoot along weak directions (b ≈ c in the
            # CuCr2O4 series: 3–4 rejected trial points a cycle)
            rho = (prev - chi2) / predicted if predicted > 0 else 0.0
            lam = max(lam * max(1 / 3, 1 - (2 * rho - 1) ** 3), 1e-9)
            if clipped and good:
                widen = min(widen * 3.0, 1e3)
            used += 1
            if self.progress:
                self.progress(name, out.cycles + used, float(np.sqrt(chi2_pat / self.wy2)))
            # GSAS-II's criterion (Δχ²/χ² below the tolerance), twice in a row so that one
            # heavily damped first step cannot end a stage that has barely started
            small = small + 1 if prev - chi2 < tolerance * chi2 else 0
            if small >= 2:
                return point, used, True
            if used == max_cycles:
                break
            if self.model.plans_stale(st.at(st.u)):
                self.model.refresh_plans(st.at(st.u))
            if self.model.has_le_bail:
                self._le_bail(st, 1)
            point = self._point(st.at(st.u), st.lin, st.movable)
            v, ycalc, r, rr, chi2, chi2_pat, jac = point
            st.base.update({n: v[n] for n in st.lin})
        return point, used, False

    def final_state(self) -> FitState:
        """The last stage's end point with its covariance.

        Computed once, after the last stage: intermediate stages need no esds.
        """
        if self._last is None:
            raise RuntimeError("no stage has run")
        return self._final_state(self._last)

    def _weighted_jacobian(self, jac, nl: list[str], amap: np.ndarray, npts: int) -> np.ndarray:
        """[∂y/∂u, Φ] weighted by 1/σ; ∂y/∂u = ∂y/∂p · A over the differentiated parameters."""
        jn, phi, names = jac
        if amap.shape[1]:
            rows = [nl.index(n) for n in names]
            ju = jn @ amap[rows] if rows else np.zeros((npts, amap.shape[1]))
        else:
            ju = np.zeros((npts, 0))
        return np.hstack([ju * self.sw[:, None], phi * self.sw[:, None]])

    def _restraint_jacobian(self, at, u, nu, nlin, rr) -> np.ndarray:
        if not len(rr):
            return np.zeros((0, nu + nlin))
        out = np.zeros((len(rr), nu + nlin))
        for j in range(nu):
            du = np.zeros(nu)
            du[j] = 1e-6
            out[:, j] = -(self._restraint_residuals(at(u + du)) - rr) / 1e-6
        return out

    def _final_state(self, st: _Stage) -> FitState:
        # analytic profile derivatives agree with differences of the drawn pattern to ~2 %
        # in the esds (tests/test_refine_behaviour.py); exact_esds uses the latter
        vv, ycalc, r, rr, chi2, chi2_pat, jac = self._point(
            st.at(st.u), st.lin, st.movable, exact=self.exact_esds
        )
        nu = st.amap.shape[1]
        jw = self._weighted_jacobian(jac, st.nl, st.amap, r.size)
        jr = self._restraint_jacobian(st.at, st.u, nu, len(st.lin), rr)
        big_j = np.vstack([jw, jr]) if len(jr) else jw
        names = st.nl + st.lin
        tmap = _with_identity(st.amap, len(st.lin)) if names else None
        if not big_j.shape[1]:
            return FitState(vv, ycalc, chi2, chi2_pat, names, None, 0, tmap)
        dec = _Decomposition(big_j.T @ big_j, np.zeros(big_j.shape[1]))
        cov = tmap @ dec.pseudo_inverse() @ tmap.T
        unresolved = []
        for w in dec.dropped_directions():
            p = tmap @ w
            unresolved += [names[i] for i in np.nonzero(np.abs(p) > 0.1 * np.abs(p).max())[0]]
        at_bound = [n for n in names if _at_bound(self.model.params[n], vv[n])]
        for n in set(unresolved) | set(at_bound):
            i = names.index(n)
            cov[i, :] = 0.0
            cov[:, i] = 0.0
        return FitState(
            vv, ycalc, chi2, chi2_pat, names, cov, dec.rank, tmap,
            sorted(set(unresolved)), at_bound,
        )


class _Decomposition:
    """Eigen-decomposition of a normal matrix scaled to unit diagonal (module docstring)."""

    def __init__(self, normal: np.ndarray, grad: np.ndarray) -> None:
        diag = np.diag(normal).copy()
        self.dead = diag <= 1e-300 * max(diag.max(initial=0.0), 1e-300)
        self.d = np.sqrt(np.where(self.dead, 1.0, diag))
        ns = normal / np.outer(self.d, self.d)
        ns[self.dead, :] = 0.0
        ns[:, self.dead] = 0.0
        self.w, self.v = np.linalg.eigh(ns) if ns.size else (np.zeros(0), np.zeros((0, 0)))
        top = max(self.w.max(initial=0.0), 1e-300)
        self.keep = self.w > SVD_CUTOFF * top
        self.gs = np.where(self.dead, 0.0, grad / self.d)
        self.proj = self.v[:, self.keep].T @ self.gs
        self.rank = int(self.keep.sum())

    def smallest(self) -> float:
        """The smallest eigenvalue stepped along (the damping must be well below it for a
        step to count as undamped)."""
        return float(self.w[self.keep].min(initial=np.inf))

    def predicted(self) -> float:
        """χ² decrease a full Gauss–Newton step in the kept directions would bring."""
        return float(np.sum(self.proj**2 / self.w[self.keep]))

    def step(self, lam: float) -> np.ndarray:
        """Marquardt-damped step (Λ + λ)⁻¹ in the kept directions, unscaled."""
        vk = self.v[:, self.keep]
        return (vk @ (self.proj / (self.w[self.keep] + lam))) / self.d

    def pseudo_inverse(self) -> np.ndarray:
        vk = self.v[:, self.keep]
        return (vk / self.w[self.keep]) @ vk.T / np.outer(self.d, self.d)

    def dropped_directions(self) -> list[np.ndarray]:
        """Unscaled parameter-space directions the data do not resolve."""
        out = [self.v[:, i] / self.d for i in np.nonzero(~self.keep)[0]]
        return [w for w in out if np.abs(w).max() > 0]

    def describe(self, names: list[str], tmap: np.ndarray) -> list[tuple[str, str]]:
        """(key, warning) per unresolved direction, naming its parameter combination.

        ``tmap`` maps the free variables (and linear parameters) to the parameters
        ``names``, so that the combination is written in the user's parameters.
        """
        msgs = []
        top = max(self.w.max(initial=0.0), 1e-300)
        for i in np.nonzero(~self.keep)[0]:
            p = tmap @ (self.v[:, i] / self.d)
            if not np.abs(p).max() > 0:
                continue
            p = p / np.abs(p).max()
            big = np.nonzero(np.abs(p) > 0.2)[0]
            key = " ".join(sorted(names[j] for j in big))
            if len(big) == 1:
                msg = f"{names[big[0]]} has no effect on the pattern; not refined"
            else:
                combo = " ".join(f"{p[j]:+.2f}·{names[j]}" for j in big)
                msg = (
                    f"ill-conditioned: no step along {combo} "
                    f"(relative eigenvalue {max(self.w[i], 0.0) / top:.1e})"
                )
            msgs.append((key, msg))
        return msgs


# The most a parameter may move in one cycle: a trust region in parameter space (as
# FullProf's relaxation factors and TOPAS's step limits), so that a weakly determined
# parameter (the cell of a minor phase) cannot jump into another minimum in one step.
_REACH = {  # what moves peaks: a wrong jump there lands in another minimum
    "a": ("rel", 0.005), "b": ("rel", 0.005), "c": ("rel", 0.005),
    "alpha": ("abs", 0.5), "beta": ("abs", 0.5), "gamma": ("abs", 0.5),
    "x": ("abs", 0.02), "y": ("abs", 0.02), "z": ("abs", 0.02),
    "zero": ("abs", 0.05), "displacement": ("abs", 50.0),
    "position": ("abs", 2.0),
    "biso": ("abs", 2.0),
}


def max_step(path, value: float) -> float:
    """The largest change of a parameter in one cycle (see :data:`_REACH`); inf if unlimited."""
    kind, size = _REACH.get(path.key, ("abs", np.inf))
    return size * max(abs(value), 1e-6) if kind == "rel" else size


def _within_reach(st: _Stage, du: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """The step shortened along its direction until no parameter moves beyond its reach."""
    if not len(du):
        return du
    dp = np.abs(st.amap @ du)
    over = np.max(dp / reach) if reach.size else 0.0
    return du / over if over > 1.0 else du


def _lower(bound: float | None) -> float:
    return -np.inf if bound is None else bound


def _at_bound(par, value: float) -> bool:
    tol = 1e-9 * max(abs(value), 1.0)
    return (par.lower is not None and value <= par.lower + tol) or (
        par.upper is not None and value >= par.upper - tol
    )


def _linear_solve(a: np.ndarray, b: np.ndarray, lower: np.ndarray | None = None) -> np.ndarray:
    """Least-squares coefficients of a few columns, kept ≥ their lower bounds.

    Scaled normal equations (a least-norm solution if singular).  A bounded coefficient
    that comes out below its bound is held there and the others solved again (an
    active-set iteration, Lawson & Hanson's NNLS in its simplest form: the columns are
    few, so each pass costs a tiny solve of the normal equations).
    """
    norm = np.sqrt(np.maximum(np.einsum("ij,ij->j", a, a), 1e-300))
    an = a / norm
    normal, rhs = an.T @ an, an.T @ b
    lo = np.full(norm.size, -np.inf) if lower is None else lower * norm
    held = np.zeros(norm.size, bool)
    c = np.zeros(norm.size)
    for _ in range(norm.size + 1):
        free = ~held
        c[held] = lo[held]
        c[free] = _solve_normal(normal[np.ix_(free, free)], rhs[free] - normal[np.ix_(free, held)]
                                @ c[held])
        below = free & (c < lo)
        if not below.any():
            break
        held |= below
    return c / norm


def _solve_normal(normal: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve normal equations; least squares where ``normal`` is not positive definite."""
    if not rhs.size:
        return rhs
    try:
        np.linalg.cholesky(normal)  # raises unless positive definite
        c = np.linalg.solve(normal, rhs)
        if np.all(np.isfinite(c)):
            return c
    except (np.linalg.LinAlgError, ValueError):
        pass
    return np.linalg.lstsq(normal, rhs, rcond=None)[0]


def _with_identity(amap: np.ndarray, n: int) -> np.ndarray:
    """The block-diagonal matrix diag(``amap``, I_n)."""
    rows, cols = amap.shape
    out = np.zeros((rows + n, cols + n))
    out[:rows, :cols] = amap
    out[rows:, cols:] = np.eye(n)
    return out


def _within_bounds(
    p0: np.ndarray,
    amap: np.ndarray,
    u: np.ndarray,
    du: np.ndarray,
    bounds: list[tuple[float | None, float | None]],
) -> np.ndarray:
    """The step, changed so that bounded parameters stay within their bounds.

    Parameters that would cross a bound are put on it, and the step in the free
    variables is the least-squares fit to that clipped point (exact when the
    parameter is not constrained to others).
    """
    if not len(du):
        return du
    target = p0 + amap @ (u + du)
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])
    clipped = np.clip(target, lo, hi)
    if np.array_equal(clipped, target):
        return du
    return np.linalg.lstsq(amap, clipped - p0, rcond=None)[0] - u
