"""Atomic scattering factors and structure factors.

Conventions (physics.md §4)
---------------------------
* f0(s), s = sinθ/λ (Å⁻¹): Waasmaier & Kirfel (1995) fits as tabulated by
  ``xraydb.f0``.
* f′, f″ at the photon energy E = hc/λ: Chantler (NIST) tables,
  ``xraydb.f1_chantler`` / ``xraydb.f2_chantler``.
* F(h) = Σ_j occ_j (f0_j + f′_j + i f″_j) T_j(h) exp(2πi h·x_j) over every atom
  of the unit cell; T = exp(−B s²) or exp(−hᵀ β h) with β = 2π² N U N,
  N = diag(a*, b*, c*) (IT Vol. C, §8.7.4), rotated to each symmetry image.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from xtal.crystal.phase import Phase
from xtal.errors import InputError

HC_EV_ANGSTROM = 12398.419843320026  # h·c in eV·Å (CODATA 2018)

FormFactor = Callable[[str, np.ndarray], np.ndarray]


@lru_cache(maxsize=512)
def anomalous(element: str, wavelength: float) -> tuple[float, float]:
    """(f′, f″) of ``element`` at ``wavelength`` (Å), Chantler tables via xraydb."""
    from xtal.crystal import elements as xraydb  # xraydb's values, cached

    energy = HC_EV_ANGSTROM / wavelength
    try:
        return float(xraydb.f1_chantler(element, energy)), float(
            xraydb.f2_chantler(element, energy)
        )
    except Exception as exc:  # xraydb raises assorted errors for unknown symbols
        raise InputError(f"no anomalous-scattering data for element '{element}': {exc}") from None


def form_factor(element: str, s: np.ndarray) -> np.ndarray:
    """Non-resonant f0(s) of ``element`` (Waasmaier–Kirfel, via xraydb)."""
    from xtal.crystal import elements as xraydb  # xraydb's values, cached

    try:
        return np.asarray(xraydb.f0(element, np.asarray(s, float)), dtype=float)
    except Exception as exc:
        raise InputError(f"no X-ray form factor for element '{element}': {exc}") from None


def structure_factors(
    phase: Phase,
    hkl: np.ndarray,
    wavelength: float | None = None,
    anomalous_dispersion: bool = True,
    adp: bool = True,
    f0: FormFactor | None = None,
) -> np.ndarray:
    """Complex F(h) for each row of ``hkl`` (electrons).

    Parameters
    ----------
    phase
        Structure model; every atom of the unit cell is summed.
    hkl
        Reflections, shape (n, 3).
    wavelength
        Å; needed for f′, f″ when ``anomalous_dispersion`` is on.
    anomalous_dispersion
        Include f′ + i f″.
    adp
        Include the displacement (Debye–Waller) factors.
    f0
        Alternative non-resonant form factor ``f0(element, s)``; default
        :func:`form_factor` (Waasmaier–Kirfel).  Used to compare with programs
        that use another parametrisation.
    """
    h = np.asarray(hkl, dtype=float).reshape(-1, 3)
    s = 0.5 / phase.cell.d_spacing(h)
    atoms = phase.atoms
    f_el = {}
    for el in set(atoms.elements):
        f = (f0 or form_factor)(el, s).astype(complex)
        if anomalous_dispersion:
            if wavelength is None:
                raise ValueError("wavelength is needed for anomalous dispersion")
            fp, fpp = anomalous(el, float(wavelength))
            f = f + fp + 1j * fpp
        f_el[el] = f
    fj = np.stack([f_el[el] for el in atoms.elements], axis=1)  # (n, atoms)
    weight = fj * atoms.occupancy[None, :]
    if adp:
        weight = weight * debye_waller(phase, h, s)
    phase_arg = 2j * np.pi * (h @ atoms.frac.T)
    return np.sum(weight * np.exp(phase_arg), axis=1)


def debye_waller(phase: Phase, h: np.ndarray, s: np.ndarray) -> np.ndarray:
    """T_j(h) for every atom of the cell, shape (n, atoms)."""
    atoms = phase.atoms
    t = np.exp(-np.outer(s * s, atoms.b_iso))
    aniso = [i for i, site in enumerate(phase.sites) if site.u_aniso is not None]
    if not aniso:
        return t
    nstar = np.diag(phase.cell.reciprocal_parameters[:3])
    rot = phase.space_group.rotations
    for j in np.nonzero(np.isin(atoms.site_index, aniso))[0]:
        u11, u22, u33, u12, u13, u23 = phase.sites[atoms.site_index[j]].u_aniso  # type: ignore[misc]
        u = np.array([[u11, u12, u13], [u12, u22, u23], [u13, u23, u33]])
        beta = 2 * np.pi**2 * nstar @ u @ nstar
        r = rot[atoms.op_index[j]]
        beta = r @ beta @ r.T
        t[:, j] = np.exp(-np.einsum("ni,ij,nj->n", h, beta, h))
    return t
