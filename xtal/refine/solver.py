"""Damped least squares (Levenberg–Marquardt) with linear parameters solved exactly.

Minimises χ² = Σ w (y_obs − y_calc)² + Σ restraint² (physics.md §7).

* Nonlinear parameters move along the null space of the constraints,
  p = p₀ + A u (:meth:`ParameterSet.mapping`).
* Linear parameters (scales, background coefficients, halo areas) are solved
  by weighted linear least squares at every trial point (variable projection,
  Golub & Pereyra 1973); the step itself uses the joint Jacobian, whose
  normal matrix also gives the esds of both kinds.
* Marquardt scaling of the normal matrix; a step that raises χ² is rejected
  and the damping raised.  A (near-)singular normal matrix stops the stage at the
  last good point and names the parameters in the degenerate combination.
* esd_k = sqrt(C_kk · χ²_ν), C = (Jᵀ W J)⁻¹, χ²_ν = χ² / (N − P).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from xtal.refine.model import RietveldModel
from xtal.refine.parameters import Restraint


@dataclass
class StageOutcome:
    """What one stage did."""

    name: str
    cycles: int = 0
    chi2_start: float = float("nan")
    chi2: float = float("nan")
    converged: bool = False
    stopped: str | None = None  # reason when the stage was stopped
    singular: list[str] = field(default_factory=list)


@dataclass
class FitState:
    """The accepted point and what the solver knows there."""

    values: dict[str, float]
    ycalc: np.ndarray
    chi2: float
    chi2_pattern: float
    names: list[str] = field(default_factory=list)  # refined parameters (esd order)
    covariance: np.ndarray | None = None  # in parameter space, unscaled (JᵀWJ)⁻¹
    n_free: int = 0
    mapping: np.ndarray | None = None  # rows: d(parameter)/d(free variables), names order


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
        self._last: tuple | None = None
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
            coef = _linear_solve(phi * self.sw[:, None], (m.data.y - y_fixed) * self.sw)
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
    def run(
        self, name: str, max_cycles: int = 20, tolerance: float = 1e-4
    ) -> tuple[StageOutcome, FitState]:
        """Refine the parameters flagged in ``model.params`` until χ² stops falling."""
        ps = self.model.params
        nl = ps.refined(linear=False)
        lin = ps.refined(linear=True)
        p0, amap = ps.mapping(nl) if nl else (np.zeros(0), np.zeros((0, 0)))
        values = ps.values()
        for n, val in zip(nl, p0, strict=True):
            values[n] = val
        u = np.zeros(amap.shape[1])
        bounds = [(ps[n].lower, ps[n].upper) for n in nl]
        movable = [n for n, row in zip(nl, amap, strict=True) if np.abs(row).max() > 1e-12]
        self._movable = set(movable)

        def at(uu: np.ndarray) -> dict[str, float]:
            vv = dict(values)
            for n, val in zip(nl, p0 + amap @ uu, strict=True):
                vv[n] = float(val)
            return vv

        out = StageOutcome(name)
        self.model.refresh_plans(at(u))  # discrete profile choices held for the stage
        v, ycalc, r, rr, chi2, chi2_pat, jac = self._point(at(u), lin, movable)
        values.update({n: v[n] for n in lin})
        out.chi2_start = chi2
        lam = 1e-3
        nu, nl_free = amap.shape[1], len(lin)
        for cycle in range(1, max_cycles + 1):
            jw = self._weighted_jacobian(jac, nl, amap, r.size)
            jr = self._restraint_jacobian(at, u, nu, nl_free, rr)
            big_j = np.vstack([jw, jr]) if len(jr) else jw
            res = np.concatenate([r, rr])
            normal = big_j.T @ big_j
            grad = big_j.T @ res
            bad = self._degenerate(normal, nl, amap, lin)
            if bad:
                out.stopped = "singular normal matrix: " + ", ".join(bad)
                out.singular = bad
                break
            dscale = np.sqrt(np.diag(normal))
            ns = normal / np.outer(dscale, dscale)
            gs = grad / dscale
            # χ² decrease a full Gauss–Newton step would bring: the convergence test
            predicted = float(gs @ scipy.linalg.lstsq(ns, gs)[0])
            if predicted < tolerance * chi2:
                out.converged = True
                break
            accepted = False
            while lam < 1e10:
                step = (
                    scipy.linalg.solve(ns + lam * np.eye(ns.shape[0]), gs, assume_a="pos") / dscale
                )
                du = _within_bounds(p0, amap, u, step[:nu], bounds)
                if not self.model.feasible(at(u + du)):
                    lam *= 10.0  # an unphysical point counts as a rejected step
                    continue
                trial = self._point(at(u + du), lin, None)
                if np.isfinite(trial[4]) and trial[4] < chi2:
                    accepted = True
                    break
                lam *= 10.0
            if not accepted:
                out.converged = True  # no downhill step exists: at the minimum to precision
                break
            u = u + du
            prev = chi2
            v, ycalc, r, rr, chi2, chi2_pat, _ = trial
            values.update({n: v[n] for n in lin})
            lam = max(lam / 10.0, 1e-7)
            out.cycles = cycle
            if self.progress:
                self.progress(name, cycle, float(np.sqrt(chi2_pat / self.wy2)))
            # a nearly undamped step that barely helps: the minimum is reached (unless the
            # Gauss–Newton step promised far more: then damping held it back, go on)
            if prev - chi2 < tolerance * chi2 and lam < 1.0 and predicted < 10 * tolerance * chi2:
                out.converged = True
                break
            # re-evaluate with this point's own discrete choices (see RietveldModel.evaluate)
            v, ycalc, r, rr, chi2, chi2_pat, jac = self._point(at(u), lin, movable)
            values.update({n: v[n] for n in lin})
        out.chi2 = chi2
        final = at(u)
        final.update({n: values[n] for n in lin})
        for n in nl + lin:
            ps[n].value = final[n]
        self._last = (final, nl, lin, amap, at, u)
        return out, FitState(final, ycalc, chi2, chi2_pat)

    def final_state(self) -> FitState:
        """The last stage's end point with its covariance.

        Computed once, after the last stage: intermediate stages need no esds.
        """
        if self._last is None:
            raise RuntimeError("no stage has run")
        return self._final_state(*self._last)

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

    def _degenerate(
        self, normal: np.ndarray, nl: list[str], amap: np.ndarray, lin: list[str]
    ) -> list[str]:
        """Names in a (near-)null direction of the normal matrix, or []."""
        diag = np.diag(normal)
        names_u = _u_names(nl, amap)
        allnames = names_u + lin
        dead = [allnames[i] for i in np.nonzero(diag <= 1e-300)[0]]
        if dead:
            return [f"{n} (no effect on the pattern)" for n in dead]
        d = np.sqrt(diag)
        ns = normal / np.outer(d, d)
        w, vecs = np.linalg.eigh(ns)
        if w[0] > 1e-11 * max(w[-1], 1e-300):
            return []
        vec = np.abs(vecs[:, 0])
        return [allnames[i] for i in np.nonzero(vec > 0.2 * vec.max())[0]]

    def _final_state(self, v, nl, lin, amap, at, u) -> FitState:
        movable = [n for n, row in zip(nl, amap, strict=True) if np.abs(row).max() > 1e-12]
        # analytic profile derivatives agree with differences of the drawn pattern to ~2 %
        # in the esds (tests/test_refine_behaviour.py); exact_esds uses the latter
        vv, ycalc, r, rr, chi2, chi2_pat, jac = self._point(v, lin, movable, exact=self.exact_esds)
        nu = amap.shape[1]
        jw = self._weighted_jacobian(jac, nl, amap, r.size)
        jr = self._restraint_jacobian(at, u, nu, len(lin), rr)
        big_j = np.vstack([jw, jr]) if len(jr) else jw
        names = nl + lin
        cov = None
        if big_j.shape[1]:
            normal = big_j.T @ big_j
            d = np.sqrt(np.maximum(np.diag(normal), 1e-300))
            try:
                cu = np.linalg.inv(normal / np.outer(d, d)) / np.outer(d, d)
            except (np.linalg.LinAlgError, ValueError):
                cu = scipy.linalg.pinv(normal)
            t = scipy.linalg.block_diag(amap, np.eye(len(lin))) if nu or lin else np.zeros((0, 0))
            cov = t @ cu @ t.T
        tmap = scipy.linalg.block_diag(amap, np.eye(len(lin))) if nu or lin else None
        return FitState(vv, ycalc, chi2, chi2_pat, names, cov, big_j.shape[1], tmap)


def _linear_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of a few columns: scaled normal equations, SVD if singular."""
    norm = np.sqrt(np.maximum(np.einsum("ij,ij->j", a, a), 1e-300))
    an = a / norm
    try:
        c = scipy.linalg.solve(an.T @ an, an.T @ b, assume_a="pos")
    except (np.linalg.LinAlgError, ValueError):
        c = np.linalg.lstsq(an, b, rcond=None)[0]
    if not np.all(np.isfinite(c)):
        c = np.linalg.lstsq(an, b, rcond=None)[0]
    return c / norm


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


def _u_names(nl: list[str], amap: np.ndarray) -> list[str]:
    """A readable name for each free variable: the parameter it moves most."""
    out = []
    for j in range(amap.shape[1]):
        col = np.abs(amap[:, j])
        out.append(nl[int(np.argmax(col))])
    return out
