"""The Rietveld model: data + phases + instrument + background → y_calc and its Jacobian.

y_calc(2θ) = Σ_p S_p · Y_p(2θ; θ) + Σ_n c_n T_n(t) + Σ_h a_h H_h(2θ; θ)

The phase scales S_p, Chebyshev coefficients c_n and halo areas a_h enter
linearly and are solved, not searched (the model exposes the basis columns).
Everything else (cell, atoms, profile, zero, displacement, halo position and
width) is nonlinear.  Derivatives with respect to the nonlinear parameters use
the chain rule through the peak list: each parameter's effect on every peak's
position, area and Gaussian/Lorentzian FWHM is found by a cheap finite
difference of the peak list (no pattern is drawn), and the pattern derivative
follows from the analytic profile derivatives of
:func:`xtal.diffraction.profile.render_peaks`.  Only SH/L and the halo shape
are differenced on the drawn pattern.

Structure factors are kept per site, so a change of one site's x, y, z,
occupancy or B recomputes that site only; a profile parameter recomputes no
structure factor; nothing regenerates the reflection list.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from xtal.crystal.phase import EIGHT_PI2, Phase
from xtal.diffraction.background import chebyshev_basis
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.peaks import PeakList, PhaseTerms, single_peak
from xtal.diffraction.profile import BAND_REF, LN2, PeakProfiles, RenderPlan, tch
from xtal.errors import InputError
from xtal.refine.parameters import Parameter, ParameterSet
from xtal.refine.paths import CELL_KEYS, HALO_KEYS, ParamPath, check_name
from xtal.refine.phase_calc import PhaseCalc
from xtal.refine.symmetry_constraints import symmetry_constraints

INSTRUMENT_KEYS = (
    "zero",
    "displacement",
    "U",
    "V",
    "W",
    "X",
    "Y",
    "Z",
    "sh_l",
    "asy1",
    "asy2",
    "asy3",
    "asy4",
)
PROFILE_KEYS = {"U", "V", "W", "X", "Y", "Z"}


@dataclass
class HaloSpec:
    """Start values of an amorphous halo (degrees; area in counts × degrees)."""

    position: float
    fwhm: float = 10.0
    area: float = 0.0
    lorentz_fraction: float = 0.0


@dataclass
class Data:
    """The measured points used in the fit."""

    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray


@dataclass
class Evaluation:
    """Model state at one set of parameter values."""

    basis: np.ndarray  # (npoints, n_linear) columns of the linear parameters
    linear_names: list[str]
    phase_curves: dict[str, np.ndarray]  # Y_p at unit scale
    halo_curves: list[np.ndarray]  # unit-area halos
    jacobian: np.ndarray | None = None  # (npoints, n_nonlinear) ∂y/∂θ at current linear values
    derivs: dict[str, PeakProfiles] = field(default_factory=dict)
    peaks: dict[str, PeakList] = field(default_factory=dict)


class RietveldModel:
    """Data, phases, instrument and background, with named parameters.

    Parameters
    ----------
    data
        Points to fit.
    phases
        Structure models (names must be unique; they are used in parameter names).
    instrument
        Start instrument.
    n_background
        Number of Chebyshev terms.
    halos
        Amorphous halos.
    terms
        Per-phase start terms (preferred-orientation axis, size, strain).
    fcj
        Axial-divergence quadrature, ``"fast"`` or ``"exact"`` (see :mod:`xtal.diffraction.fcj`).
    """

    def __init__(
        self,
        data: Data,
        phases: list[Phase],
        instrument: Instrument,
        n_background: int = 6,
        halos: list[HaloSpec] | None = None,
        terms: dict[str, PhaseTerms] | None = None,
        fcj: str = "fast",
        anomalous_dispersion: bool = True,
        fixed_background: np.ndarray | None = None,
        le_bail: frozenset[str] = frozenset(),
    ) -> None:
        names = [p.name for p in phases]
        for p in phases:
            check_name(p.name, "phase")
            for s in p.sites:
                check_name(s.label, f"site (phase {p.name})")
        if len(set(names)) != len(names):
            raise InputError(f"phase names must be unique: {names}")
        self.data = data
        self.instrument = instrument
        # a background given point by point (e.g. FullProf .BGR), not refined
        self.fixed_background = (
            np.zeros(data.x.size)
            if fixed_background is None
            else np.asarray(fixed_background, float)
        )
        self.fcj = fcj
        self.n_background = n_background
        self.halos = list(halos or [])
        terms = terms or {}
        self.calcs = {
            p.name: PhaseCalc(
                p.name,
                p,
                instrument,
                float(data.x[-1]),
                terms.get(p.name, PhaseTerms()),
                anomalous_dispersion,
                le_bail=p.name in le_bail,
            )
            for p in phases
        }
        self.cheb = (
            chebyshev_basis(data.x, n_background) if n_background else np.zeros((data.x.size, 0))
        )
        self._inst_keys = [str(ParamPath.instrument(k)) for k in INSTRUMENT_KEYS]
        self.params = self._build_parameters(phases)
        self._frozen_plans: dict[str, RenderPlan] = {}
        self.eager_profiles = True
        self._curve_cache: dict[str, tuple[tuple, np.ndarray, PeakProfiles | None, PeakList]] = {}
        # the last curve of each halo: a point re-evaluated (the Jacobian at an accepted
        # trial, a stage's start) draws it once
        self._halo_cache: dict[int, tuple[tuple[float, float], np.ndarray]] = {}
        for name, calc in self.calcs.items():
            pk = calc.peaks(self.params.values(), instrument)
            inside = (pk.pos >= data.x[0]) & (pk.pos <= data.x[-1])
            if not inside.any():
                raise InputError(
                    f"phase {name}: no reflection falls inside the 2θ range "
                    f"{data.x[0]:g}–{data.x[-1]:g}°"
                )

    # -- parameters ---------------------------------------------------------------------
    def _build_parameters(self, phases: list[Phase]) -> ParameterSet:
        ps = ParameterSet()
        for ph in (self.calcs[p.name].base for p in phases):  # Le Bail phases: no sites
            n = ph.name
            ps.add(Parameter(str(ParamPath.phase_leaf(n, "scale")), 1.0, lower=0.0, linear=True))
            for k, v in zip(CELL_KEYS, ph.cell.parameters, strict=True):
                # lengths within a factor 10; angles within 20° of the start and in (10, 170)
                lo, hi = (0.1 * v, 10 * v) if k in "abc" else (max(v - 20, 10), min(v + 20, 170))
                ps.add(Parameter(str(ParamPath.cell(n, k)), float(v), lower=lo, upper=hi))
            for s in ph.sites:
                for k, v in zip("xyz", s.xyz, strict=True):
                    ps.add(Parameter(str(ParamPath.site_param(n, s.label, k)), float(v)))
                occ = str(ParamPath.site_param(n, s.label, "occ"))
                ps.add(Parameter(occ, s.occupancy, lower=0.0, upper=1.0))
                ps.add(Parameter(str(ParamPath.site_param(n, s.label, "biso")), s.b_iso, lower=0.0))
            t = self.calcs[n].terms
            ps.add(Parameter(str(ParamPath.po_ratio(n)), t.po_ratio, lower=0.05, upper=20.0))
            # 0 = no size broadening; once refined, at least 1 nm (a smaller "crystallite"
            # turns the phase into a broad hump that mimics the background)
            ps.add(Parameter(str(ParamPath.phase_leaf(n, "size")), t.size or 0.0, lower=1e-3))
            strain = str(ParamPath.phase_leaf(n, "microstrain"))
            ps.add(Parameter(strain, t.microstrain, lower=0.0))
            ps.constraints.extend(symmetry_constraints(n, ph))
        for k, name in zip(INSTRUMENT_KEYS, self._inst_keys, strict=True):
            lower = 0.0 if k == "sh_l" else None
            ps.add(Parameter(name, float(getattr(self.instrument, k)), lower=lower))
        for i in range(self.n_background):
            ps.add(Parameter(str(ParamPath.chebyshev(i)), 0.0, linear=True))
        lo, hi = self.data.x[0] - 20, self.data.x[-1] + 20
        for i, h in enumerate(self.halos):
            ps.add(Parameter(str(ParamPath.halo(i, "position")), h.position, lower=lo, upper=hi))
            ps.add(Parameter(str(ParamPath.halo(i, "fwhm")), h.fwhm, lower=0.5, upper=60.0))
            ps.add(Parameter(str(ParamPath.halo(i, "area")), h.area, lower=0.0, linear=True))
        return ps

    def instrument_from(self, v: dict[str, float]) -> Instrument:
        """The instrument with the parameter values ``v``."""
        kw = {k: v[name] for k, name in zip(INSTRUMENT_KEYS, self._inst_keys, strict=True)}
        kw["sh_l"] = max(kw["sh_l"], 0.0)
        return replace(self.instrument, **kw)

    def feasible(self, v: dict[str, float]) -> bool:
        """True if the values describe a physical pattern.

        The Gaussian variance σ² = U tan²θ + V tanθ + W and the Lorentzian FWHM
        X/cosθ + Y tanθ + Z must stay positive somewhere in the data range.
        """
        t = np.tan(np.radians(self.data.x[[0, -1]] / 2.0))
        t = np.concatenate(
            [t, np.tan(np.radians(self.data.x[:: max(1, self.data.x.size // 50)] / 2))]
        )
        inst = self.instrument_from(v)
        sig2 = inst.U * t * t + inst.V * t + inst.W
        c = 1.0 / np.sqrt(1.0 + t * t)
        lor = inst.X / c + inst.Y * t + inst.Z
        # as in GSAS-II a width may reach zero at some angles (it is floored there); it may
        # not vanish everywhere, where its parameters would lose all effect
        return bool(np.any(sig2 > 0.0) and np.any(lor >= 0.0))

    def linear_names(self) -> list[str]:
        """All linear parameters in basis order."""
        names = [c.scale_key for c in self.calcs.values()]
        names += [str(ParamPath.chebyshev(i)) for i in range(self.n_background)]
        names += [str(ParamPath.halo(i, "area")) for i in range(len(self.halos))]
        return names

    # -- evaluation ---------------------------------------------------------------------
    def _phase_curve(
        self, name: str, v: dict[str, float], inst: Instrument, derivatives: bool
    ) -> tuple[np.ndarray, PeakProfiles | None, PeakList]:
        calc = self.calcs[name]
        # a trial point that is accepted becomes the next Jacobian point: drawing its
        # profiles now costs less than drawing the pattern twice
        derivatives = derivatives or self.eager_profiles
        key = self._curve_key(name, v)
        plan = self._frozen_plans.get(name)  # see refresh_plans
        cached = self._curve_cache.get(name)
        if cached is not None and cached[0] == key and (cached[2] is not None or not derivatives):
            return cached[1], cached[2], cached[3]
        pk = calc.peaks(v, inst)
        if derivatives:
            y, der = pk.profiles(self.data.x, fcj=self.fcj, plan=plan)
        else:
            y, der = pk.render(self.data.x, fcj=self.fcj, plan=plan), None
        self._curve_cache[name] = (key, y, der, pk)
        return y, der, pk

    def _curve_key(self, name: str, v: dict[str, float]) -> tuple:
        """What a phase's curve depends on: its own values and the instrument's."""
        calc = self.calcs[name]
        return (
            tuple(sorted((k, v[k]) for k in calc.own_keys if k in v)),
            tuple(v[k] for k in self._inst_keys),
        )

    def _peaks_at(self, name: str, v: dict[str, float], inst: Instrument) -> PeakList:
        """The peak list of phase ``name`` at ``v`` (the one last drawn, if drawn at ``v``)."""
        cached = self._curve_cache.get(name)
        if cached is not None and cached[0] == self._curve_key(name, v):
            return cached[3]
        return self.calcs[name].peaks(v, inst)

    def halo_curve(self, i: int, v: dict[str, float], keep: bool = True) -> np.ndarray:
        """Unit-area curve of halo ``i`` at ``v`` (``keep=False``: a finite-difference
        point, not kept in place of the last curve)."""
        pos, fwhm = (v[str(ParamPath.halo(i, k))] for k in HALO_KEYS[:2])
        cached = self._halo_cache.get(i)
        if cached is not None and cached[0] == (pos, fwhm):
            return cached[1]
        fw = max(fwhm, 1e-3)
        lf = self.halos[i].lorentz_fraction
        halo = single_peak(pos, 1.0, fw * (1 - lf), fw * lf)
        curve = halo.render(self.data.x, fcj=self.fcj)
        if keep:
            curve.flags.writeable = False  # shared by every evaluation that hits the cache
            self._halo_cache[i] = ((pos, fwhm), curve)
        return curve

    def refresh_plans(self, v: dict[str, float]) -> bool:
        """Choose the discrete profile choices at ``v`` and hold them for later evaluations.

        Between refreshes every point is drawn with the same choices (FCJ quadrature
        rules, width bands), so that χ² is a smooth function of the parameters and
        finite differences and the damping see no jumps.  The solver refreshes at the
        start and end of every stage and whenever :meth:`plans_stale` says so.  Returns
        whether any choice changed (if none did, what was drawn stays valid).
        """
        inst = self.instrument_from(v)
        fresh = {name: self._peaks_at(name, v, inst).plan(self.fcj) for name in self.calcs}
        changed = any(
            name not in self._frozen_plans or not _same_plan(self._frozen_plans[name], plan)
            for name, plan in fresh.items()
        )
        if changed:  # curves drawn with other choices are no longer this model's
            self._frozen_plans = fresh
            self._curve_cache.clear()
        return changed

    def plans_stale(self, v: dict[str, float]) -> bool:
        """True when the held choices no longer suit the peaks at ``v``.

        The rule: a peak's total FWHM Γ has left its width band by more than a
        factor 2^¼ (Γ/Γ_b outside [2^-¾, 2^¾]; the band itself spans [2^-½, 2^½],
        within which the analytic tails keep the accuracy stated in
        :mod:`xtal.diffraction.profile`),
        or its axial-divergence quadrature now needs more nodes than it holds (the
        peak narrowed or SH/L grew), or the reflections changed.
        """
        inst = self.instrument_from(v)
        for name in self.calcs:
            held = self._frozen_plans.get(name)
            if held is None:
                return True
            pk = self._peaks_at(name, v, inst)
            fresh = pk.plan(self.fcj)
            if fresh.band.size != held.band.size:
                return True
            gam, _ = tch(pk.fwhm_g, pk.fwhm_l)
            drift = np.log2(np.maximum(gam, 1e-6) / BAND_REF) - (held.band + 0.5)
            if np.any(np.abs(drift) > 0.75):
                return True
            if np.any(np.sign(fresh.fcj) != np.sign(held.fcj)) or np.any(
                np.abs(fresh.fcj) > np.abs(held.fcj)
            ):
                return True
        return False

    @property
    def has_le_bail(self) -> bool:
        return any(c.extracted is not None for c in self.calcs.values())

    def le_bail_update(self, v: dict[str, float]) -> None:
        """One Le Bail iteration: each extracted |F|² × its I_obs/I_calc at ``v``.

        ``v`` holds the linear values (scales, background) of the current point.
        """
        from xtal.refine.metrics import partition

        ev = self.evaluate(v, profiles=True)
        lin = {n: i for i, n in enumerate(ev.linear_names)}
        yb = self.fixed_background.copy()
        for n in ev.linear_names:
            if not self.params[n].path.is_scale:  # type: ignore[union-attr]
                yb = yb + ev.basis[:, lin[n]] * v[n]
        yc = yb + sum(ev.phase_curves[k] * v[c.scale_key] for k, c in self.calcs.items())
        for name, calc in self.calcs.items():
            if calc.extracted is None:
                continue
            i_calc, i_obs = partition(
                self.data.y, yc, yb, ev.peaks[name], ev.derivs[name], v[calc.scale_key],
                len(calc.hkl),
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                calc.le_bail_update(np.where(i_calc > 0, i_obs / i_calc, 1.0))
        self._curve_cache.clear()

    def evaluate(
        self,
        v: dict[str, float],
        jacobian_for: list[str] | None = None,
        exact: bool = False,
        profiles: bool = False,
    ) -> Evaluation:
        """Basis columns at ``v``; with ``jacobian_for``, ∂y/∂θ for those nonlinear parameters.

        ``profiles`` asks for the peak profiles (``Evaluation.derivs``) without a Jacobian.
        """
        inst = self.instrument_from(v)
        want = bool(jacobian_for)
        curves, derivs, peaks = {}, {}, {}
        for name in self.calcs:
            y, der, pk = self._phase_curve(name, v, inst, want or profiles)
            curves[name], peaks[name] = y, pk
            if der is not None:
                derivs[name] = der
        halos = [self.halo_curve(i, v) for i in range(len(self.halos))]
        basis = np.column_stack(
            list(curves.values()) + [self.cheb[:, i] for i in range(self.n_background)] + halos
        )
        names = self.linear_names()
        ev = Evaluation(basis, names, curves, halos, derivs=derivs, peaks=peaks)
        if want:
            ev.jacobian = self._jacobian(v, inst, jacobian_for or [], ev, fast=not exact)
        return ev

    def _jacobian(
        self,
        v: dict[str, float],
        inst: Instrument,
        names: list[str],
        ev: Evaluation,
        fast: bool = True,
    ) -> np.ndarray:
        """∂y/∂θ.

        Intensity-only parameters always go through the peak profiles.  Position and
        width parameters go through the analytic profile derivatives when ``fast``
        (good to the few per cent the core windows hold: enough for a step), and
        otherwise by redrawing the pattern (exact: used for the final esds).
        """
        x = self.data.x
        jac = np.zeros((x.size, len(names)))
        col = {n: i for i, n in enumerate(names)}
        paths = {n: self.params[n].path for n in names}
        for pname, calc in self.calcs.items():
            scale = v[calc.scale_key]
            prof, pk = ev.derivs[pname], ev.peaks[pname]
            fsq_now = calc.f_sq(v)  # |F|² at v: the base of every step below
            mine = [n for n in names if paths[n].phase == pname or paths[n].is_instrument]
            intensity = [n for n in mine if paths[n].affects_intensity_only]
            if intensity:
                darea = np.zeros((len(pk), len(intensity)))
                # a site parameter changes only |F|², and areas are linear in it: the
                # difference of |F|² times each peak's area per unit |F|² (no peak list)
                per_fsq = None
                for j, n in enumerate(intensity):
                    h = _step(paths[n], v[n])
                    if paths[n].key == "occ" and v[n] + h > 1.0:
                        h = -h  # |F|² holds occupancies at 1: a step above it changes nothing
                    v2 = dict(v)
                    v2[n] = v[n] + h
                    override = calc.site_override(paths[n], v2)
                    if override is None:  # preferred orientation: the whole peak list
                        darea[:, j] = (calc.peaks(v2, inst).area - pk.area) / h
                        continue
                    if per_fsq is None:
                        per_fsq = calc.area_per_fsq(v, inst)
                    dfsq = (calc.f_sq(v, override) - fsq_now) / h
                    darea[:, j] = per_fsq * dfsq[pk.ref]
                block = prof.apply(darea)
                for j, n in enumerate(intensity):
                    jac[:, col[n]] += scale * block[:, j]
            shape = [n for n in mine if n not in intensity]
            if fast:
                # peak positions, widths and areas by differences of the peak list; the
                # pattern through the analytic profile derivatives (no redrawing)
                chain = [
                    n
                    for n in shape
                    if n not in _REDRAW and not (paths[n].is_instrument and "asy" in paths[n].key)
                ]
                shape = [n for n in shape if n not in chain]
                if chain:
                    dv = np.zeros((4, len(pk), len(chain)))
                    for j, n in enumerate(chain):
                        h = _step(paths[n], v[n])
                        v2 = dict(v)
                        v2[n] = v[n] + h
                        inst2 = self.instrument_from(v2) if paths[n].is_instrument else inst
                        pk2 = calc.peaks(v2, inst2, None if paths[n].is_cell else fsq_now)
                        dv[0, :, j] = (pk2.area - pk.area) / h
                        dv[1, :, j] = pk.area * (pk2.pos - pk.pos) / h
                        dv[2, :, j] = pk.area * (pk2.fwhm_g - pk.fwhm_g) / h
                        dv[3, :, j] = pk.area * (pk2.fwhm_l - pk.fwhm_l) / h
                    block = (
                        prof.apply(dv[0])
                        + prof.apply(dv[1], "d_pos")
                        + prof.apply(dv[2], "d_fwhm_g")
                        + prof.apply(dv[3], "d_fwhm_l")
                    )
                    for j, n in enumerate(chain):
                        jac[:, col[n]] += scale * block[:, j]
            for n in shape:
                h = _step(paths[n], v[n])
                v2 = dict(v)
                v2[n] = v[n] + h
                inst2 = self.instrument_from(v2) if paths[n].is_instrument else inst
                pk2 = calc.peaks(v2, inst2, None if paths[n].is_cell else fsq_now)
                # same quadrature and bands as the base point: no jumps in the difference
                y2 = pk2.render(x, fcj=self.fcj, plan=prof.plan)
                jac[:, col[n]] += scale * (y2 - ev.phase_curves[pname]) / h
        for i in range(len(self.halos)):
            area = v[str(ParamPath.halo(i, "area"))]
            for k in HALO_KEYS[:2]:
                n = str(ParamPath.halo(i, k))
                if n in col:
                    h = _step(paths[n], v[n])
                    v2 = dict(v)
                    v2[n] += h
                    shifted = self.halo_curve(i, v2, keep=False)
                    jac[:, col[n]] += area * (shifted - ev.halo_curves[i]) / h
        return jac

    # -- restraints ---------------------------------------------------------------------
    def phase_at(self, name: str, v: dict[str, float]) -> Phase:
        """Phase ``name`` with the parameter values ``v``."""
        return self.calcs[name].phase_from(v)


# parameters whose effect the peak list does not carry: always redrawn
_REDRAW = {"instrument.sh_l"}

_STEPS = {
    "zero": 1e-4,
    "asy1": 1e-4,
    "asy2": 1e-4,
    "asy3": 1e-4,
    "asy4": 1e-4,
    "displacement": 0.1,
    "U": 1e-3,
    "V": 1e-3,
    "W": 1e-3,
    "X": 1e-3,
    "Y": 1e-3,
    "Z": 1e-3,
    "sh_l": 1e-4,
    "x": 1e-5,
    "y": 1e-5,
    "z": 1e-5,
    "occ": 1e-4,
    "biso": 1e-3,
    "ratio": 1e-4,
    "microstrain": 1e-2,
    "alpha": 1e-4,
    "beta": 1e-4,
    "gamma": 1e-4,
    "a": 1e-5,
    "b": 1e-5,
    "c": 1e-5,
    "position": 1e-3,
    "fwhm": 1e-3,
}


def _step(path: ParamPath, value: float) -> float:
    """Finite-difference step for a parameter (in its own units), small against its esd."""
    key = path.key
    if key == "size":
        return 1e-3 * max(abs(value), 1e-3)
    return _STEPS.get(key, 1e-6 * max(abs(value), 1e-2))


def _same_plan(a: RenderPlan, b: RenderPlan) -> bool:
    return (
        a.shl == b.shl
        and np.array_equal(a.fcj, b.fcj)
        and np.array_equal(a.band, b.band)
    )


__all__ = ["RietveldModel", "Data", "HaloSpec", "PhaseCalc", "EIGHT_PI2", "LN2"]
