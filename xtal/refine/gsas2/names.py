"""xtal's parameter paths in GSAS-II's vocabulary, and the unit conversions between them.

xtal names a refinable quantity by a dot path (``phases.<p>.cell.a``); GSAS-II by a
variable name ``<phase>:<histogram>:<name>[:<atom>]`` (GSAS-II documentation,
"GSAS-II variable names").  Here the project holds one histogram (number 0) and the
phases in the order given (phase *p* is GSAS-II phase number *p*).  Conventions:

==============================  ==================================  =========================
xtal                            GSAS-II                             relation
==============================  ==================================  =========================
``phases.P.scale`` S            phase fraction ``p:0:Scale`` f       S = f · S_h / (100 V)
``phases.P.cell.*``             ``p::A0`` … ``A5`` (G* terms)       cell from the metric
``phases.P.sites.L.x|y|z``      ``p::Ax:i`` (refined as ``dAx``)    equal
``phases.P.sites.L.occ``        ``p::Afrac:i``                      equal
``phases.P.sites.L.biso`` B     ``p::AUiso:i`` U                    B = 8π² U
``phases.P.po.ratio``           ``p:0:MD``                          equal (March–Dollase)
``phases.P.size`` (µm)          ``p:0:Size;i`` (µm, isotropic)      equal; 0 = none
``phases.P.microstrain``        ``p:0:Mustrain;i`` (10⁻⁶)           equal
``instrument.zero`` (°)         ``:0:Zero``                         equal
``instrument.displacement`` µm  ``:0:Shift`` (µm, Bragg–Brentano)   equal, same radius
``instrument.U`` … ``Z``        ``:0:U`` … ``:0:Z``                 equal
``instrument.sh_l``             ``:0:SH/L``                         equal
``background.chebyshev.i``      ``:0:Back;i`` (chebyschev-1)        equal
``background.halo.i.position``  ``:0:BkPkpos;i``                    equal
``background.halo.i.area``      ``:0:BkPkint;i`` (per centidegree)  area = int / 100
``background.halo.i.fwhm``      ``:0:BkPksig;i``, ``BkPkgam;i``     FWHM_G = √(8 ln2 σ²)/100
==============================  ==================================  =========================

Why S = f · S_h / (100 V): GSAS-II multiplies |F|² by the histogram scale S_h, the
phase fraction f, the multiplicity, polarisation, Lorentz factor and 1/V (its "V*",
``GSASIIstrMath.getPowderProfile``), and its profile functions integrate to 1 over
centidegrees (``GSASIIpwd.getFCJVoigt3`` returns the integral Σ 100·Df·Δ2θ); xtal's
intensity is S · m|F|²·L·pol with profiles of unit area in degrees (physics.md §4).
Weight fractions then agree: GSAS-II's W_p ∝ f_p (ZM)_p, Hill & Howard's
W_p ∝ S_p (ZMV)_p.  The histogram scale is held at 1 and each phase's fraction carries
its scale.

The Bérar–Baldinozzi asymmetry (``instrument.asy1`` … ``asy4``) has no GSAS-II
counterpart: :data:`NOT_IN_GSAS2`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from xtal.refine.paths import CELL_KEYS, HALO_KEYS, SITE_KEYS, ParamPath

HIST = ":0:"
EIGHT_PI2 = 8.0 * np.pi**2
FWHM_PER_SIGMA = np.sqrt(8.0 * np.log(2.0))
INSTRUMENT = {
    "zero": "Zero",
    "displacement": "Shift",
    "U": "U",
    "V": "V",
    "W": "W",
    "X": "X",
    "Y": "Y",
    "Z": "Z",
    "sh_l": "SH/L",
}
NOT_IN_GSAS2 = ("instrument.asy1", "instrument.asy2", "instrument.asy3", "instrument.asy4")
NO_SIZE = 1.0e6  # µm: GSAS-II has no "no size broadening"; 1e6 µm adds < 1e-6 centidegree


@dataclass(frozen=True)
class Layout:
    """Where each xtal quantity lives in the GSAS-II project.

    Attributes
    ----------
    phases
        Phase names; the position is the GSAS-II phase number.
    sites
        Site labels of each phase; the position is the GSAS-II atom number.
    n_chebyshev
        Chebyshev background terms.
    halo_lorentz
        Lorentzian fraction of each amorphous halo (0: Gaussian, only σ² refines).
    """

    phases: tuple[str, ...]
    sites: tuple[tuple[str, ...], ...]
    n_chebyshev: int
    halo_lorentz: tuple[float, ...] = ()

    def pid(self, phase: str) -> int:
        return self.phases.index(phase)

    def offered(self) -> list[str]:
        """Every dot path, in the native engine's order and vocabulary."""
        out: list[ParamPath] = []
        for name, labels in zip(self.phases, self.sites, strict=True):
            out.append(ParamPath.phase_leaf(name, "scale"))
            out += [ParamPath.cell(name, k) for k in CELL_KEYS]
            out += [ParamPath.site_param(name, s, k) for s in labels for k in SITE_KEYS]
            out += [ParamPath.po_ratio(name), ParamPath.phase_leaf(name, "size"),
                    ParamPath.phase_leaf(name, "microstrain")]
        out += [ParamPath.instrument(k) for k in INSTRUMENT]
        out += [ParamPath.chebyshev(i) for i in range(self.n_chebyshev)]
        for i in range(len(self.halo_lorentz)):
            out += [ParamPath.halo(i, k) for k in HALO_KEYS]
        names = [str(p) for p in out]
        at = len(names) - self.n_chebyshev - 3 * len(self.halo_lorentz)
        return names[:at] + list(NOT_IN_GSAS2) + names[at:]

    # -- one path → GSAS-II names -------------------------------------------------------
    def gsas_names(self, path: str) -> list[str]:
        """The GSAS-II variables that move ``path`` (refined names: ``dAx`` for x)."""
        p = ParamPath.parse(path)
        if p.kind == "phase":
            pid = self.pid(p.phase)
            if p.is_cell:
                return [f"{pid}::A{i}" for i in range(6)]
            if p.is_site:
                i = self.sites[pid].index(p.site)
                key = {"x": "dAx", "y": "dAy", "z": "dAz", "occ": "Afrac", "biso": "AUiso"}[p.key]
                return [f"{pid}::{key}:{i}"]
            leaf = {"scale": "Scale", "size": "Size;i", "microstrain": "Mustrain;i"}
            return [f"{pid}:0:{leaf.get(p.group, 'MD')}"]
        if p.is_instrument:
            return [] if path in NOT_IN_GSAS2 else [HIST + INSTRUMENT[p.key]]
        if p.group == "chebyshev":
            return [f"{HIST}Back;{p.index}"]
        i = p.index
        if p.key == "fwhm":
            gam = [f"{HIST}BkPkgam;{i}"] if self.halo_lorentz[i] > 0 else []
            return [f"{HIST}BkPksig;{i}", *gam]
        return [f"{HIST}BkPk{'pos' if p.key == 'position' else 'int'};{i}"]

    # -- values -------------------------------------------------------------------------
    def to_xtal(self, g: Mapping[str, float]) -> dict[str, float]:
        """xtal's values from GSAS-II's (``g`` holds ``Ax:i`` etc.; a ``dAx:i`` adds to it)."""
        out: dict[str, float] = {}
        for pid, (name, labels) in enumerate(zip(self.phases, self.sites, strict=True)):
            a = [g[f"{pid}::A{i}"] for i in range(6)]
            cell = cell_from_a(a)
            leaf = _leaf(name)
            out[leaf("scale")] = g[f"{pid}:0:Scale"] * g[HIST + "Scale"] / (100.0 * cell[6])
            out.update({_cell(name, k): v for k, v in zip(CELL_KEYS, cell[:6], strict=True)})
            for i, lab in enumerate(labels):
                for ax in "xyz":
                    out[_site(name, lab, ax)] = (g[f"{pid}::A{ax}:{i}"]
                                                 + g.get(f"{pid}::dA{ax}:{i}", 0.0))
                out[_site(name, lab, "occ")] = g[f"{pid}::Afrac:{i}"]
                out[_site(name, lab, "biso")] = EIGHT_PI2 * g[f"{pid}::AUiso:{i}"]
            out[str(ParamPath.po_ratio(name))] = g[f"{pid}:0:MD"]
            size = g[f"{pid}:0:Size;i"]
            out[leaf("size")] = 0.0 if size >= 0.1 * NO_SIZE else size
            out[leaf("microstrain")] = g[f"{pid}:0:Mustrain;i"]
        out.update({str(ParamPath.instrument(k)): g[HIST + v] for k, v in INSTRUMENT.items()})
        out.update({n: 0.0 for n in NOT_IN_GSAS2})
        for i in range(self.n_chebyshev):
            out[str(ParamPath.chebyshev(i))] = g[f"{HIST}Back;{i}"]
        for i, lf in enumerate(self.halo_lorentz):
            out[_halo(i, "position")] = g[f"{HIST}BkPkpos;{i}"]
            out[_halo(i, "area")] = g[f"{HIST}BkPkint;{i}"] / 100.0
            fw = FWHM_PER_SIGMA * np.sqrt(max(g[f"{HIST}BkPksig;{i}"], 0.0)) / 100.0
            out[_halo(i, "fwhm")] = fw + (g[f"{HIST}BkPkgam;{i}"] / 100.0 if lf > 0 else 0.0)
        return out

    def to_gsas(self, values: Mapping[str, float], g: Mapping[str, float]) -> dict[str, float]:
        """GSAS-II values for the xtal ``values`` given (others from ``g``, the current ones).

        A scale is converted with the cell volume after the change, so that a warm start
        from another engine's result reproduces its intensities.
        """
        out: dict[str, float] = {}
        cur = self.to_xtal(g)
        new = {**cur, **{k: float(v) for k, v in values.items() if k in cur}}
        for pid, (name, labels) in enumerate(zip(self.phases, self.sites, strict=True)):
            leaf = _leaf(name)
            cell = [new[_cell(name, k)] for k in CELL_KEYS]
            if any(_cell(name, k) in values for k in CELL_KEYS):
                out.update({f"{pid}::A{i}": v for i, v in enumerate(a_from_cell(cell))})
            if leaf("scale") in values or _cell(name, "a") in values:
                vol = cell_from_a(a_from_cell(cell))[6]
                out[f"{pid}:0:Scale"] = new[leaf("scale")] * 100.0 * vol / g[HIST + "Scale"]
            for i, lab in enumerate(labels):
                for ax in "xyz":
                    if _site(name, lab, ax) in values:
                        out[f"{pid}::A{ax}:{i}"] = new[_site(name, lab, ax)]
                if _site(name, lab, "occ") in values:
                    out[f"{pid}::Afrac:{i}"] = new[_site(name, lab, "occ")]
                if _site(name, lab, "biso") in values:
                    out[f"{pid}::AUiso:{i}"] = new[_site(name, lab, "biso")] / EIGHT_PI2
            for key, g2 in ((str(ParamPath.po_ratio(name)), "MD"),
                            (leaf("microstrain"), "Mustrain;i")):
                if key in values:
                    out[f"{pid}:0:{g2}"] = new[key]
            if leaf("size") in values:
                out[f"{pid}:0:Size;i"] = new[leaf("size")] if new[leaf("size")] > 0 else NO_SIZE
        for k, v in INSTRUMENT.items():
            if str(ParamPath.instrument(k)) in values:
                out[HIST + v] = new[str(ParamPath.instrument(k))]
        for i in range(self.n_chebyshev):
            if str(ParamPath.chebyshev(i)) in values:
                out[f"{HIST}Back;{i}"] = new[str(ParamPath.chebyshev(i))]
        for i, lf in enumerate(self.halo_lorentz):
            out.update(_halo_to_gsas(i, lf, new, values))
        return out

    def jacobian(
        self, g: Mapping[str, float], paths: list[str], gnames: list[str]
    ) -> np.ndarray:
        """∂(xtal values of ``paths``)/∂(GSAS-II values ``gnames``), central differences."""
        jac = np.zeros((len(paths), len(gnames)))
        for j, name in enumerate(gnames):
            h = _step(g.get(name, 0.0))
            up, down = dict(g), dict(g)
            up[name] = g.get(name, 0.0) + h
            down[name] = g.get(name, 0.0) - h
            xu, xd = self.to_xtal(up), self.to_xtal(down)
            jac[:, j] = [(xu[p] - xd[p]) / (2 * h) for p in paths]
        return jac


def _halo_to_gsas(
    i: int, lf: float, new: Mapping[str, float], given: Mapping[str, float]
) -> dict[str, float]:
    out: dict[str, float] = {}
    if _halo(i, "position") in given:
        out[f"{HIST}BkPkpos;{i}"] = new[_halo(i, "position")]
    if _halo(i, "area") in given:
        out[f"{HIST}BkPkint;{i}"] = 100.0 * new[_halo(i, "area")]
    if _halo(i, "fwhm") in given:
        fw = new[_halo(i, "fwhm")]
        out[f"{HIST}BkPksig;{i}"] = (100.0 * fw * (1.0 - lf) / FWHM_PER_SIGMA) ** 2
        out[f"{HIST}BkPkgam;{i}"] = 100.0 * fw * lf
    return out


def _cell(phase: str, key: str) -> str:
    return str(ParamPath.cell(phase, key))


def _site(phase: str, label: str, key: str) -> str:
    return str(ParamPath.site_param(phase, label, key))


def _leaf(phase: str):
    return lambda leaf: str(ParamPath.phase_leaf(phase, leaf))


def _halo(i: int, key: str) -> str:
    return str(ParamPath.halo(i, key))


def _step(value: float) -> float:
    """A difference step small against any esd, large against round-off."""
    return 1e-6 * max(abs(value), 1e-3)


def metric_from_a(a: list[float] | np.ndarray) -> np.ndarray:
    """Reciprocal metric tensor G* from GSAS-II's A = (G*11, G*22, G*33, 2G*12, 2G*13, 2G*23)."""
    a0, a1, a2, a3, a4, a5 = a
    return np.array([[a0, a3 / 2, a4 / 2], [a3 / 2, a1, a5 / 2], [a4 / 2, a5 / 2, a2]])


def cell_from_a(a: list[float] | np.ndarray) -> tuple[float, ...]:
    """(a, b, c, α, β, γ, V) in Å, degrees, Å³ from GSAS-II's A terms."""
    g = np.linalg.inv(metric_from_a(a))
    lengths = np.sqrt(np.diag(g))
    cosines = (g[1, 2] / (lengths[1] * lengths[2]), g[0, 2] / (lengths[0] * lengths[2]),
               g[0, 1] / (lengths[0] * lengths[1]))
    # round-off of arccos (90°, 120°) is removed, far below any esd
    angles = np.round(np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0))), 10)
    return (*map(float, lengths), *map(float, angles), float(np.sqrt(np.linalg.det(g))))


def a_from_cell(cell: list[float] | tuple[float, ...]) -> list[float]:
    """GSAS-II's A terms from (a, b, c, α, β, γ)."""
    a, b, c = cell[:3]
    ca, cb, cg = np.cos(np.radians(cell[3:6]))
    g = np.array([[a * a, a * b * cg, a * c * cb], [a * b * cg, b * b, b * c * ca],
                  [a * c * cb, b * c * ca, c * c]])
    gs = np.linalg.inv(g)
    return [float(v) for v in (gs[0, 0], gs[1, 1], gs[2, 2], 2 * gs[0, 1], 2 * gs[0, 2],
                               2 * gs[1, 2])]
