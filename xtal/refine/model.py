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

from xtal.crystal.cell import Cell
from xtal.crystal.phase import EIGHT_PI2, Phase, Site, orbit
from xtal.diffraction.background import chebyshev_basis
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.profile import LN2, PeakProfiles, RenderPlan, make_plan, render_peaks
from xtal.diffraction.scattering import anomalous, form_factor
from xtal.diffraction.simulate import (
    PhaseTerms,
    lorentz_polarization,
    march_dollase,
    reflections_up_to,
)
from xtal.errors import InputError
from xtal.refine.parameters import Constraint, Parameter, ParameterSet

F0_GRID = np.linspace(0.0, 2.5, 10001)  # sinθ/λ (Å⁻¹) grid for tabulated f0
CELL_KEYS = ("a", "b", "c", "alpha", "beta", "gamma")
SITE_KEYS = ("x", "y", "z", "occ", "biso")
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


class PhaseCalc:
    """Reflections and per-site structure factors of one phase, for a fixed hkl list."""

    def __init__(
        self,
        name: str,
        phase: Phase,
        instrument: Instrument,
        x_max: float,
        terms: PhaseTerms,
        anomalous_dispersion: bool = True,
    ) -> None:
        self.name = name
        self.base = phase
        self.terms = terms
        self.anomalous_dispersion = anomalous_dispersion
        # 2 % margin in d so that a refined cell cannot move reflections in unseen
        refl = reflections_up_to(phase, instrument, x_max, d_margin=0.98)
        if len(refl) == 0:
            raise InputError(f"phase {name} has no reflections in the 2θ range")
        self.hkl = refl.hkl.astype(float)
        self.mult = refl.multiplicity.astype(float)
        self.centro = phase.space_group.is_centrosymmetric or not anomalous_dispersion
        self.site_ops = [orbit(phase.space_group, s.xyz)[0] for s in phase.sites]
        self.rot = phase.space_group.rotations
        self.tr = phase.space_group.translations
        self._fprime = {
            el: (anomalous(el, instrument.lam1) if anomalous_dispersion else (0.0, 0.0))
            for el in {s.element for s in phase.sites}
        }
        self._cache_cell: tuple | None = None
        # f0 tabulated once on a fine grid in s (interpolation error < 1e-5 electrons)
        # because cell steps change every reflection's s
        self._f0_table = {el: form_factor(el, F0_GRID) for el in self._fprime}
        self._f0: dict[str, np.ndarray] = {}
        self._site_cache: dict[tuple[int, tuple], np.ndarray] = {}

    # -- parameters ---------------------------------------------------------------------
    def cell_from(self, v: dict[str, float]) -> Cell:
        p = f"phases.{self.name}.cell."
        return Cell(*(v[p + k] for k in CELL_KEYS))

    def sites_from(self, v: dict[str, float]) -> list[Site]:
        out = []
        for s in self.base.sites:
            p = f"phases.{self.name}.sites.{s.label}."
            occ = min(max(v[p + "occ"], 1e-9), 1.0)
            out.append(
                replace(
                    s,
                    xyz=(v[p + "x"], v[p + "y"], v[p + "z"]),
                    occupancy=occ,
                    b_iso=max(v[p + "biso"], 0.0),
                )
            )
        return out

    def phase_from(self, v: dict[str, float]) -> Phase:
        """The phase with the parameter values ``v`` (occupancy and B kept physical)."""
        return replace(self.base, cell=self.cell_from(v), sites=tuple(self.sites_from(v)))

    # -- structure factors ----------------------------------------------------------------
    def _s(self, cell: Cell) -> np.ndarray:
        return 0.5 / cell.d_spacing(self.hkl)

    def _prepare_cell(self, cell: Cell) -> np.ndarray:
        key = cell.parameters
        s = self._s(cell)
        if key != self._cache_cell:
            self._f0 = {el: np.interp(s, F0_GRID, self._f0_table[el]) for el in self._fprime}
            self._site_cache.clear()
            self._cache_cell = key
        return s

    def site_factor(self, i: int, site_values: tuple, s: np.ndarray) -> np.ndarray:
        """Complex contribution of site ``i`` to F(h) (and to F(−h) by conjugating the sum)."""
        cached = self._site_cache.get((i, site_values))
        if cached is not None:
            return cached
        x, y, z, occ, biso = site_values
        site = self.base.sites[i]
        ops = self.site_ops[i]
        pos = np.einsum("nij,j->ni", self.rot[ops], np.array([x, y, z])) + self.tr[ops]
        geo = np.exp(2j * np.pi * (self.hkl @ pos.T))  # (nrefl, nimages)
        fp, fpp = self._fprime[site.element]
        f = self._f0[site.element] + fp  # f″ kept apart: it is not conjugated for −h
        t = np.exp(-max(biso, 0.0) * s * s)
        if site.u_aniso is not None:
            t_img = _aniso_t(self.base, site, ops, self.hkl)
            g_sum = (geo * t_img).sum(axis=1)
        else:
            g_sum = geo.sum(axis=1) * t
        val = np.stack([occ * f * g_sum, occ * fpp * g_sum])  # real-f and f″ parts
        if len(self._site_cache) > 8 * len(self.base.sites):
            self._site_cache.clear()  # keep it small: it serves the current point and its steps
        self._site_cache[(i, site_values)] = val
        return val

    def f_sq(self, v: dict[str, float], override: dict[int, tuple] | None = None) -> np.ndarray:
        """½(|F(h)|² + |F(−h)|²) with parameter values ``v`` (sites in ``override`` replaced)."""
        s = self._prepare_cell(self.cell_from(v))
        fr = np.zeros(len(self.hkl), complex)
        fi = np.zeros(len(self.hkl), complex)
        for i, site in enumerate(self.base.sites):
            p = f"phases.{self.name}.sites.{site.label}."
            sv = (override or {}).get(i) or tuple(v[p + k] for k in SITE_KEYS)
            sv = (*sv[:3], min(max(sv[3], 0.0), 1.0), sv[4])
            part = self.site_factor(i, sv, s)
            fr += part[0]
            fi += part[1]
        # F(h) = Σ (f + i f″) G;  F(−h) = Σ (f + i f″) conj(G)
        f_plus = fr + 1j * fi
        if self.centro:
            return np.abs(f_plus) ** 2
        f_minus = np.conj(fr) + 1j * np.conj(fi)
        return 0.5 * (np.abs(f_plus) ** 2 + np.abs(f_minus) ** 2)

    # -- peaks ----------------------------------------------------------------------------
    def peaks(self, v: dict[str, float], inst: Instrument, f_sq: np.ndarray | None = None) -> dict:
        """Position, unit-scale area, FWHMs of every peak (each hkl × each line)."""
        cell = self.cell_from(v)
        d = cell.d_spacing(self.hkl)
        if f_sq is None:
            f_sq = self.f_sq(v)
        terms = self._terms(v)
        po = np.ones(len(d))
        if terms.po_axis is not None and terms.po_ratio != 1.0:
            from xtal.diffraction.reflections import ReflectionList

            po = march_dollase(
                ReflectionList(self.hkl.astype(int), self.mult.astype(int), d),
                replace(self.base, cell=cell),
                terms.po_axis,
                terms.po_ratio,
            )
        out = {k: [] for k in ("pos", "area", "fwhm_g", "fwhm_l", "ref")}
        for lam, rel in inst.wavelengths:
            arg = np.minimum(lam / (2.0 * d), 0.999999)
            tth = np.degrees(2.0 * np.arcsin(arg))
            out["pos"].append(tth + inst.shift(tth))
            out["area"].append(
                rel * self.mult * f_sq * lorentz_polarization(tth, inst.polarization) * po
            )
            fg, fl = _widths(inst, terms, tth, lam)
            out["fwhm_g"].append(fg)
            out["fwhm_l"].append(fl)
            out["ref"].append(np.arange(len(d)))
        return {k: np.concatenate(val) for k, val in out.items()}

    def _terms(self, v: dict[str, float]) -> PhaseTerms:
        p = f"phases.{self.name}."
        size = v.get(p + "size")
        return replace(
            self.terms,
            po_ratio=v.get(p + "po.ratio", self.terms.po_ratio),
            size=size if size and size > 0 else None,
            microstrain=v.get(p + "microstrain", 0.0),
        )


def _widths(inst: Instrument, terms: PhaseTerms, tth: np.ndarray, lam: float):
    from xtal.diffraction.simulate import PhasePattern

    return PhasePattern.widths(inst, terms, tth, lam)


def _aniso_t(phase: Phase, site: Site, ops: np.ndarray, hkl: np.ndarray) -> np.ndarray:
    u11, u22, u33, u12, u13, u23 = site.u_aniso  # type: ignore[misc]
    u = np.array([[u11, u12, u13], [u12, u22, u23], [u13, u23, u33]])
    nstar = np.diag(phase.cell.reciprocal_parameters[:3])
    beta = 2 * np.pi**2 * nstar @ u @ nstar
    out = np.empty((len(hkl), len(ops)))
    for j, op in enumerate(ops):
        r = phase.space_group.rotations[op]
        b = r @ beta @ r.T
        out[:, j] = np.exp(-np.einsum("ni,ij,nj->n", hkl, b, hkl))
    return out


@dataclass
class Evaluation:
    """Model state at one set of parameter values."""

    basis: np.ndarray  # (npoints, n_linear) columns of the linear parameters
    linear_names: list[str]
    phase_curves: dict[str, np.ndarray]  # Y_p at unit scale
    halo_curves: list[np.ndarray]  # unit-area halos
    jacobian: np.ndarray | None = None  # (npoints, n_nonlinear) ∂y/∂θ at current linear values
    derivs: dict[str, PeakProfiles] = field(default_factory=dict)
    peaks: dict[str, dict] = field(default_factory=dict)


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
    ) -> None:
        names = [p.name for p in phases]
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
            )
            for p in phases
        }
        self.cheb = (
            chebyshev_basis(data.x, n_background) if n_background else np.zeros((data.x.size, 0))
        )
        self.params = self._build_parameters(phases)
        self._frozen_plans: dict[str, RenderPlan] = {}
        self.eager_profiles = True
        self._curve_cache: dict[str, tuple[tuple, np.ndarray, PeakProfiles | None, dict]] = {}
        for name, calc in self.calcs.items():
            pk = calc.peaks(self.params.values(), instrument)
            inside = (pk["pos"] >= data.x[0]) & (pk["pos"] <= data.x[-1])
            if not inside.any():
                raise InputError(
                    f"phase {name}: no reflection falls inside the 2θ range "
                    f"{data.x[0]:g}–{data.x[-1]:g}°"
                )

    # -- parameters ---------------------------------------------------------------------
    def _build_parameters(self, phases: list[Phase]) -> ParameterSet:
        ps = ParameterSet()
        inst = self.instrument
        for ph in phases:
            n = ph.name
            ps.add(Parameter(f"phases.{n}.scale", 1.0, lower=0.0, linear=True))
            for k, v in zip(CELL_KEYS, ph.cell.parameters, strict=True):
                ps.add(Parameter(f"phases.{n}.cell.{k}", float(v), lower=0.1 * v, upper=10 * v))
            for s in ph.sites:
                p = f"phases.{n}.sites.{s.label}."
                for k, v in zip("xyz", s.xyz, strict=True):
                    ps.add(Parameter(p + k, float(v)))
                ps.add(Parameter(p + "occ", s.occupancy, lower=0.0, upper=1.0))
                ps.add(Parameter(p + "biso", s.b_iso, lower=0.0))
            t = self.calcs[n].terms
            ps.add(Parameter(f"phases.{n}.po.ratio", t.po_ratio, lower=0.05, upper=20.0))
            ps.add(Parameter(f"phases.{n}.size", t.size or 0.0, lower=0.0))
            ps.add(Parameter(f"phases.{n}.microstrain", t.microstrain, lower=0.0))
            ps.constraints.extend(_cell_constraints(n, ph))
            ps.constraints.extend(_site_constraints(n, ph))
            ps.constraints.extend(_origin_constraints(n, ph))
            ps.constraints.extend(_mixed_site_constraints(n, ph))
        for k in INSTRUMENT_KEYS:
            lower = 0.0 if k in ("sh_l", "X", "Y") else None
            ps.add(Parameter(f"instrument.{k}", float(getattr(inst, k)), lower=lower))
        for i in range(self.n_background):
            ps.add(Parameter(f"background.chebyshev.{i}", 0.0, linear=True))
        for i, h in enumerate(self.halos):
            p = f"background.halo.{i}."
            ps.add(
                Parameter(
                    p + "position",
                    h.position,
                    lower=self.data.x[0] - 20,
                    upper=self.data.x[-1] + 20,
                )
            )
            ps.add(Parameter(p + "fwhm", h.fwhm, lower=0.5, upper=60.0))
            ps.add(Parameter(p + "area", h.area, lower=0.0, linear=True))
        return ps

    def instrument_from(self, v: dict[str, float]) -> Instrument:
        """The instrument with the parameter values ``v``."""
        kw = {k: v[f"instrument.{k}"] for k in INSTRUMENT_KEYS}
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
        sig2 = v["instrument.U"] * t * t + v["instrument.V"] * t + v["instrument.W"]
        c = 1.0 / np.sqrt(1.0 + t * t)
        lor = v["instrument.X"] / c + v["instrument.Y"] * t + v["instrument.Z"]
        # as in GSAS-II a width may reach zero at some angles (it is floored there); it may
        # not vanish everywhere, where its parameters would lose all effect
        return bool(np.any(sig2 > 0.0) and np.any(lor >= 0.0))

    def linear_names(self) -> list[str]:
        """All linear parameters in basis order."""
        names = [f"phases.{n}.scale" for n in self.calcs]
        names += [f"background.chebyshev.{i}" for i in range(self.n_background)]
        names += [f"background.halo.{i}.area" for i in range(len(self.halos))]
        return names

    # -- evaluation ---------------------------------------------------------------------
    def _phase_curve(
        self, name: str, v: dict[str, float], inst: Instrument, derivatives: bool
    ) -> tuple[np.ndarray, PeakProfiles | None, dict]:
        calc = self.calcs[name]
        # a trial point that is accepted becomes the next Jacobian point: drawing its
        # profiles now costs less than drawing the pattern twice
        derivatives = derivatives or self.eager_profiles
        key = (
            tuple(
                sorted(
                    (k, val)
                    for k, val in v.items()
                    if k.startswith(f"phases.{name}.") and not k.endswith(".scale")
                )
            ),
            tuple(v[f"instrument.{k}"] for k in INSTRUMENT_KEYS),
        )
        plan = self._frozen_plans.get(name)  # see refresh_plans
        if plan is not None and not plan.suits(inst.sh_l, len(calc.hkl) * len(inst.wavelengths)):
            # SH/L moved too far for the held quadrature rules: choose them again
            pk0 = calc.peaks(v, inst)
            plan = make_plan(pk0["pos"], pk0["fwhm_g"], pk0["fwhm_l"], inst.sh_l, self.fcj)
            self._frozen_plans[name] = plan
        cached = self._curve_cache.get(name)
        if cached is not None and cached[0] == key and (cached[2] is not None or not derivatives):
            return cached[1], cached[2], cached[3]
        pk = calc.peaks(v, inst)
        out = render_peaks(
            self.data.x,
            pk["pos"],
            pk["area"],
            pk["fwhm_g"],
            pk["fwhm_l"],
            inst.sh_l,
            True,
            self.fcj,
            derivatives,
            plan=plan,
            bb=inst.berar_baldinozzi,
        )
        y, der = out if derivatives else (out, None)
        self._curve_cache[name] = (key, y, der, pk)
        return y, der, pk

    def halo_curve(self, i: int, v: dict[str, float]) -> np.ndarray:
        p = f"background.halo.{i}."
        fw = max(v[p + "fwhm"], 1e-3)
        lf = self.halos[i].lorentz_fraction
        return render_peaks(
            self.data.x,
            np.array([v[p + "position"]]),
            np.array([1.0]),
            np.array([fw * (1 - lf)]),
            np.array([fw * lf]),
            0.0,
        )

    def refresh_plans(self, v: dict[str, float]) -> None:
        """Choose the discrete profile choices at ``v`` and hold them for later evaluations.

        A refinement stage draws every point with the choices made at its start
        (FCJ quadrature rules, width bands), so that χ² is a smooth function of the
        parameters within the stage: GSAS-II's term counts jump with the widths, by
        up to a few per cent of a peak, and would defeat the damping.  The choices
        are made afresh at the start of each stage.
        """
        inst = self.instrument_from(v)
        self._frozen_plans = {}
        self._curve_cache.clear()
        for name, calc in self.calcs.items():
            pk = calc.peaks(v, inst)
            self._frozen_plans[name] = make_plan(
                pk["pos"], pk["fwhm_g"], pk["fwhm_l"], inst.sh_l, self.fcj
            )

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
        for pname, calc in self.calcs.items():
            scale = v[f"phases.{pname}.scale"]
            prof, pk = ev.derivs[pname], ev.peaks[pname]
            mine = [
                n for n in names if n.startswith(f"phases.{pname}.") or n.startswith("instrument.")
            ]
            intensity = [n for n in mine if ".sites." in n or n.endswith(".po.ratio")]
            if intensity:
                darea = np.zeros((pk["pos"].size, len(intensity)))
                for j, n in enumerate(intensity):
                    h = _step(n, v[n])
                    v2 = dict(v)
                    v2[n] = v[n] + h
                    override = _site_override(calc, n, v2)
                    fsq = calc.f_sq(v, override) if override is not None else None
                    darea[:, j] = (calc.peaks(v2, inst, fsq)["area"] - pk["area"]) / h
                block = prof.apply(darea)
                for j, n in enumerate(intensity):
                    jac[:, col[n]] += scale * block[:, j]
            shape = [n for n in mine if n not in intensity]
            if fast:
                # peak positions, widths and areas by differences of the peak list; the
                # pattern through the analytic profile derivatives (no redrawing)
                chain = [
                    n for n in shape if n not in _REDRAW and not n.startswith("instrument.asy")
                ]
                shape = [n for n in shape if n not in chain]
                if chain:
                    dv = np.zeros((4, pk["pos"].size, len(chain)))
                    fsq0 = calc.f_sq(v)
                    for j, n in enumerate(chain):
                        h = _step(n, v[n])
                        v2 = dict(v)
                        v2[n] = v[n] + h
                        inst2 = self.instrument_from(v2) if n.startswith("instrument.") else inst
                        pk2 = calc.peaks(v2, inst2, None if ".cell." in n else fsq0)
                        dv[0, :, j] = (pk2["area"] - pk["area"]) / h
                        dv[1, :, j] = pk["area"] * (pk2["pos"] - pk["pos"]) / h
                        dv[2, :, j] = pk["area"] * (pk2["fwhm_g"] - pk["fwhm_g"]) / h
                        dv[3, :, j] = pk["area"] * (pk2["fwhm_l"] - pk["fwhm_l"]) / h
                    block = (
                        prof.apply(dv[0])
                        + prof.apply(dv[1], "d_pos")
                        + prof.apply(dv[2], "d_fwhm_g")
                        + prof.apply(dv[3], "d_fwhm_l")
                    )
                    for j, n in enumerate(chain):
                        jac[:, col[n]] += scale * block[:, j]
            for n in shape:
                h = _step(n, v[n])
                v2 = dict(v)
                v2[n] = v[n] + h
                inst2 = self.instrument_from(v2) if n.startswith("instrument.") else inst
                pk2 = calc.peaks(v2, inst2, None if ".cell." in n else calc.f_sq(v))
                # same quadrature and bands as the base point: no jumps in the difference
                y2 = render_peaks(
                    x,
                    pk2["pos"],
                    pk2["area"],
                    pk2["fwhm_g"],
                    pk2["fwhm_l"],
                    inst2.sh_l,
                    True,
                    self.fcj,
                    plan=prof.plan,
                    bb=inst2.berar_baldinozzi,
                )
                jac[:, col[n]] += scale * (y2 - ev.phase_curves[pname]) / h
        for i in range(len(self.halos)):
            area = v[f"background.halo.{i}.area"]
            for k in ("position", "fwhm"):
                n = f"background.halo.{i}.{k}"
                if n in col:
                    h = _step(n, v[n])
                    v2 = dict(v)
                    v2[n] += h
                    jac[:, col[n]] += area * (self.halo_curve(i, v2) - ev.halo_curves[i]) / h
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


def _step(name: str, value: float) -> float:
    """Finite-difference step for a parameter (in its own units), small against its esd."""
    key = name.rsplit(".", 1)[-1]
    if key == "size":
        return 1e-3 * max(abs(value), 1e-3)
    return _STEPS.get(key, 1e-6 * max(abs(value), 1e-2))


def _site_override(calc: PhaseCalc, name: str, v2: dict[str, float]) -> dict[int, tuple] | None:
    if ".sites." not in name:
        return None
    prefix = f"phases.{calc.name}.sites."
    label = name[len(prefix) :].rsplit(".", 1)[0]
    for i, s in enumerate(calc.base.sites):
        if s.label == label:
            p = prefix + label + "."
            return {i: tuple(v2[p + k] for k in SITE_KEYS)}
    return None


def _cell_constraints(name: str, phase: Phase) -> list[Constraint]:
    """Cell metric by crystal system (IT Vol. A, Table 2.1.2.1)."""
    p = f"phases.{name}.cell."
    system = phase.space_group.crystal_system
    c = phase.cell
    eq = []  # pairs that must stay equal
    fixed = []  # angles that must not move
    if system == "cubic":
        eq, fixed = [("a", "b"), ("a", "c")], ["alpha", "beta", "gamma"]
    elif system == "tetragonal":
        eq, fixed = [("a", "b")], ["alpha", "beta", "gamma"]
    elif system in ("trigonal", "hexagonal"):
        if phase.space_group.symbol.startswith("R") and abs(c.gamma - 120) > 1e-3:
            eq = [("a", "b"), ("a", "c"), ("alpha", "beta"), ("alpha", "gamma")]
        else:
            eq, fixed = [("a", "b")], ["alpha", "beta", "gamma"]
    elif system == "orthorhombic":
        fixed = ["alpha", "beta", "gamma"]
    elif system == "monoclinic":
        fixed = [k for k in ("alpha", "beta", "gamma") if abs(getattr(c, k) - 90.0) < 1e-6]
        if len(fixed) == 3:  # β = 90 exactly: keep the unique-axis-b convention
            fixed = ["alpha", "gamma"]
    out = [Constraint({p + a: 1.0, p + b: -1.0}, 0.0, f"{system} cell") for a, b in eq]
    out += [Constraint({p + k: 1.0}, float(getattr(c, k)), f"{system} cell") for k in fixed]
    return out


def _site_constraints(name: str, phase: Phase) -> list[Constraint]:
    """A site on a special position moves only in the null space of (R − 1) of its stabiliser."""
    out = []
    sg = phase.space_group
    for s in phase.sites:
        stab = sg.site_stabilizer(np.asarray(s.xyz), tol=1e-3)
        if len(stab) <= 1:
            continue
        rows = np.concatenate([sg.rotations[i] - np.eye(3) for i in stab])
        # orthonormal rows of the constrained directions
        _, sv, vt = np.linalg.svd(rows)
        rank = int(np.sum(sv > 1e-8))
        p = f"phases.{name}.sites.{s.label}."
        for r in vt[:rank]:
            coeffs = {p + k: float(c) for k, c in zip("xyz", r, strict=True) if abs(c) > 1e-12}
            rhs = float(r @ np.asarray(s.xyz))
            out.append(Constraint(coeffs, rhs, f"site symmetry of {s.label}"))
    return out


def _mixed_site_constraints(name: str, phase: Phase) -> list[Constraint]:
    """Sites sharing a position (a mixed site such as O/F on 48f) move as one.

    Their coordinates and B stay equal and their total occupancy stays at its
    start value, so refining the occupancies exchanges one species for the other.
    """
    out = []
    groups: list[list[Site]] = []
    for s in phase.sites:
        for g in groups:
            d = np.asarray(s.xyz) - np.asarray(g[0].xyz)
            if np.all(np.abs(d - np.round(d)) < 1e-4):
                g.append(s)
                break
        else:
            groups.append([s])
    for g in groups:
        if len(g) < 2:
            continue
        first = f"phases.{name}.sites.{g[0].label}."
        labels = "/".join(s.label for s in g)
        for s in g[1:]:
            other = f"phases.{name}.sites.{s.label}."
            for k in ("x", "y", "z", "biso"):
                out.append(
                    Constraint({first + k: 1.0, other + k: -1.0}, 0.0, f"mixed site {labels}")
                )
        total = sum(s.occupancy for s in g)
        out.append(
            Constraint(
                {f"phases.{name}.sites.{s.label}.occ": 1.0 for s in g},
                total,
                f"mixed site {labels}",
            )
        )
    return out


def _origin_constraints(name: str, phase: Phase) -> list[Constraint]:
    """Fix the floating origin of a polar space group.

    Along a direction v left invariant by every rotation of the point group
    (the c axis of P3, the b axis of P2₁, …) the origin is arbitrary, so a
    common shift of all atoms along v changes nothing: the sum of the site
    coordinates along v is held (IT Vol. A, §8.1 on polar groups) — when every
    such coordinate is refined; a fixed one already pins the origin.
    """
    rots = phase.space_group.point_group_rotations
    if any((r == -np.eye(3, dtype=int)).all() for r in rots):
        return []
    rows = np.concatenate([r - np.eye(3) for r in rots])
    _, sv, vt = np.linalg.svd(rows)
    free = vt[int(np.sum(sv > 1e-8)) :]
    out = []
    for v in free:
        coeffs: dict[str, float] = {}
        rhs = 0.0
        for s in phase.sites:
            stab = phase.space_group.site_stabilizer(np.asarray(s.xyz), tol=1e-3)
            rot = np.concatenate([phase.space_group.rotations[i] - np.eye(3) for i in stab])
            if np.abs(rot @ v).max() > 1e-8:
                continue  # this site cannot move along v
            p = f"phases.{name}.sites.{s.label}."
            for k, c in zip("xyz", v, strict=True):
                if abs(c) > 1e-12:
                    coeffs[p + k] = coeffs.get(p + k, 0.0) + float(c)
            rhs += float(v @ np.asarray(s.xyz))
        if coeffs:
            out.append(
                Constraint(coeffs, rhs, "origin of a polar space group", only_if_all_refined=True)
            )
    return out


__all__ = ["RietveldModel", "Data", "HaloSpec", "PhaseCalc", "EIGHT_PI2", "LN2"]
