"""Structure factors and peaks of one phase inside a refinement.

Reflections are generated once, with a 2 % margin in d so that a refined cell
cannot move unseen reflections into the range.  Structure factors are kept per
site (physics.md §4: F(h) = Σ occ (f0 + f′ + i f″) T exp(2πi h·x) over all images),
so a change of one site's x, y, z, occupancy or B recomputes that site only, and
f0 is tabulated once per element on a fine grid in s = sinθ/λ because cell steps
change every reflection's s.  Powder intensities are ½(|F(h)|² + |F(−h)|²):
Friedel's law is not assumed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from xtal.crystal.cell import Cell
from xtal.crystal.phase import Phase, Site, orbit
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.peaks import PeakList, PhaseTerms, build_peaks
from xtal.diffraction.scattering import anomalous, form_factor
from xtal.diffraction.simulate import march_dollase, reflections_up_to
from xtal.errors import InputError
from xtal.refine.paths import CELL_KEYS, SITE_KEYS, ParamPath

F0_GRID = np.linspace(0.0, 2.5, 10001)  # sinθ/λ (Å⁻¹) grid for tabulated f0
CELLS_KEPT = 8  # cells whose f0 and site factors are kept: a point and its six cell steps


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
        le_bail: bool = False,
    ) -> None:
        self.name = name
        if le_bail:
            phase = replace(phase, sites=())  # Le Bail: the atoms, if any, are not used
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
        self._cells: dict[tuple, tuple[dict[str, np.ndarray], dict]] = {}
        self._image_cache: dict[tuple[int, tuple], np.ndarray] = {}
        # parameter names, made once (see xtal.refine.paths)
        self.cell_keys = [str(ParamPath.cell(name, k)) for k in CELL_KEYS]
        self.site_keys = [
            [str(ParamPath.site_param(name, s.label, k)) for k in SITE_KEYS] for s in phase.sites
        ]
        self.scale_key = str(ParamPath.phase_leaf(name, "scale"))
        self.size_key = str(ParamPath.phase_leaf(name, "size"))
        self.strain_key = str(ParamPath.phase_leaf(name, "microstrain"))
        self.po_key = str(ParamPath.po_ratio(name))
        # Le Bail (J. Appl. Cryst. 21, 1988; Le Bail, Powder Diffr. 20, 316, 2005): the
        # |F|² of each reflection is extracted from the pattern, not computed from atoms
        self.extracted = np.ones(len(self.hkl)) if le_bail else None
        self.own_keys = frozenset(
            [*self.cell_keys, *(k for ks in self.site_keys for k in ks)]
            + [self.size_key, self.strain_key, self.po_key]
        )

    # -- parameters ---------------------------------------------------------------------
    def cell_from(self, v: dict[str, float]) -> Cell:
        return Cell(*(v[k] for k in self.cell_keys))

    def sites_from(self, v: dict[str, float]) -> list[Site]:
        out = []
        for s, keys in zip(self.base.sites, self.site_keys, strict=True):
            x, y, z, occ, biso = (v[k] for k in keys)
            out.append(
                replace(
                    s,
                    xyz=(x, y, z),
                    occupancy=min(max(occ, 1e-9), 1.0),
                    b_iso=max(biso, 0.0),
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
            # f0 and site factors are kept for a few cells: a Jacobian's cell steps would
            # otherwise push out the base cell's, which every next evaluation needs again
            held = self._cells.pop(key, None)
            if held is None:
                f0 = {el: np.interp(s, F0_GRID, self._f0_table[el]) for el in self._fprime}
                held = (f0, {})
            self._cells[key] = held  # most recent last
            while len(self._cells) > CELLS_KEPT:
                del self._cells[next(iter(self._cells))]
            self._f0, self._site_cache = held
            self._cache_cell = key
        return s

    def site_factor(self, i: int, site_values: tuple, s: np.ndarray) -> np.ndarray:
        """Complex contribution of site ``i`` to F(h) (and to F(−h) by conjugating the sum)."""
        cached = self._site_cache.get((i, site_values))
        if cached is not None:
            return cached
        x, y, z, occ, biso = site_values
        site = self.base.sites[i]
        fp, fpp = self._fprime[site.element]
        f = self._f0[site.element] + fp  # f″ kept apart: it is not conjugated for −h
        g_sum = self._image_sum(i, (x, y, z))
        if site.u_aniso is None:
            g_sum = g_sum * np.exp(-max(biso, 0.0) * s * s)
        val = np.stack([occ * f * g_sum, occ * fpp * g_sum])  # real-f and f″ parts
        return self._keep(self._site_cache, (i, site_values), val)

    def _image_sum(self, i: int, xyz: tuple[float, float, float]) -> np.ndarray:
        """Σ over the images of site ``i`` of exp(2πi h·r) (× the anisotropic T of each
        image): independent of the cell, so kept by position alone (a cell step, the most
        common one, then costs no complex exponentials)."""
        key = (i, xyz)
        cached = self._image_cache.get(key)
        if cached is not None:
            return cached
        site = self.base.sites[i]
        ops = self.site_ops[i]
        pos = np.einsum("nij,j->ni", self.rot[ops], np.array(xyz)) + self.tr[ops]
        geo = np.exp(2j * np.pi * (self.hkl @ pos.T))  # (nrefl, nimages)
        if site.u_aniso is not None:
            g_sum = (geo * _aniso_t(self.base, site, ops, self.hkl)).sum(axis=1)
        else:
            g_sum = geo.sum(axis=1)
        return self._keep(self._image_cache, key, g_sum)

    def _keep(self, cache: dict, key: tuple, value: np.ndarray) -> np.ndarray:
        """``value`` stored in ``cache`` under ``key``; the cache is emptied first when it
        holds more than 8 entries a site: it serves the current point and its steps."""
        if len(cache) > 8 * len(self.base.sites):
            cache.clear()
        cache[key] = value
        return value

    def f_sq(self, v: dict[str, float], override: dict[int, tuple] | None = None) -> np.ndarray:
        """½(|F(h)|² + |F(−h)|²) with parameter values ``v`` (sites in ``override`` replaced).

        For a Le Bail phase: the extracted values (:meth:`le_bail_update`).
        """
        if self.extracted is not None:
            return self.extracted
        s = self._prepare_cell(self.cell_from(v))
        fr = np.zeros(len(self.hkl), complex)
        fi = np.zeros(len(self.hkl), complex)
        for i, keys in enumerate(self.site_keys):
            sv = (override or {}).get(i) or tuple(v[k] for k in keys)
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
    def peaks(
        self, v: dict[str, float], inst: Instrument, f_sq: np.ndarray | None = None
    ) -> PeakList:
        """Every peak (each hkl × each line) at unit scale, with the values ``v``.

        Unreachable reflections are clamped, not dropped, so that every list of one
        phase has the same length and peak order (finite differences compare them).
        """
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
        return build_peaks(d, self.mult * f_sq * po, inst, replace(terms, scale=1.0), clamp=True)

    def area_per_fsq(self, v: dict[str, float], inst: Instrument) -> np.ndarray:
        """Each peak's area per unit |F|² at ``v`` (areas are linear in |F|²: the peak list
        of :meth:`peaks` with |F|² = 1, in the same order)."""
        return self.peaks(v, inst, np.ones(len(self.hkl))).area

    def _terms(self, v: dict[str, float]) -> PhaseTerms:
        size = v.get(self.size_key)
        return replace(
            self.terms,
            po_ratio=v.get(self.po_key, self.terms.po_ratio),
            size=size if size and size > 0 else None,
            microstrain=v.get(self.strain_key, 0.0),
        )

    def le_bail_update(self, ratio: np.ndarray) -> None:
        """Multiply each reflection's extracted |F|² by I_obs/I_calc (Le Bail's iteration).

        ``ratio`` per reflection, from the Rietveld partition of the observed pattern
        (:func:`xtal.refine.metrics.partition`); one iteration changes a value by a factor
        0.05–20 at most.
        """
        assert self.extracted is not None
        # a reflection the partition finds empty shrinks but is never set to 0: the next
        # iteration's share (after the background moved) can bring it back
        r = np.where(np.isfinite(ratio), ratio, 1.0)
        self.extracted = self.extracted * np.clip(r, 0.05, 20.0)

    def site_override(self, path: ParamPath, v2: dict[str, float]) -> dict[int, tuple] | None:
        """The changed site's values in ``v2`` when ``path`` is a site parameter."""
        if not path.is_site:
            return None
        for i, s in enumerate(self.base.sites):
            if s.label == path.site:
                return {i: tuple(v2[k] for k in self.site_keys[i])}
        return None


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
