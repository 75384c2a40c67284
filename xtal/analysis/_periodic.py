"""Periodic geometry helpers shared by the analysis modules (private).

Positions are fractional coordinates of one cell; Cartesian vectors use the
rows of :attr:`xtal.crystal.cell.Cell.matrix` (r = x @ matrix).
"""

from __future__ import annotations

import itertools

import numpy as np

from xtal.crystal.phase import Phase
from xtal.errors import InputError

#: Atoms closer than this whose occupancies add to more than one cannot coexist (Å).
OVERLAP_DISTANCE = 0.5


def translations(matrix: np.ndarray, cutoff: float) -> np.ndarray:
    """Integer lattice translations that reach every image within ``cutoff`` Å.

    The range along axis i is ceil(cutoff / d_i) + 1, d_i the spacing of the
    lattice planes parallel to the other two axes (d_i = 1 / |b_i|).
    """
    recip = np.linalg.inv(matrix).T  # rows b_i with a_i · b_j = δ_ij
    n = np.ceil(cutoff * np.linalg.norm(recip, axis=1)).astype(int) + 1
    return np.array(list(itertools.product(*(range(-k, k + 1) for k in n))), dtype=float)


def pair_distances(
    matrix: np.ndarray, frac_a: np.ndarray, frac_b: np.ndarray, cutoff: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (i in a, j in b, image of j) closer than ``cutoff`` Å.

    Returns
    -------
    i, j, shift, dist
        Index in ``frac_a``, index in ``frac_b``, the lattice translation added to
        ``frac_b[j]`` (frac), and the distance (Å).  Zero distances are kept.
    """
    shifts = translations(matrix, cutoff)
    a = np.asarray(frac_a, float) @ matrix
    b = (np.asarray(frac_b, float)[:, None, :] + shifts[None, :, :]) @ matrix  # (nb, ns, 3)
    d = np.linalg.norm(a[:, None, None, :] - b[None, :, :, :], axis=-1)  # (na, nb, ns)
    i, j, s = np.nonzero(d < cutoff)
    return i, j, shifts[s], d[i, j, s]


def check_overlaps(phase: Phase, distance: float = OVERLAP_DISTANCE) -> None:
    """Raise :class:`InputError` if two atoms that cannot coexist are too close.

    Atoms closer than ``distance`` are allowed only when their occupancies add up
    to at most one (a mixed or split site).
    """
    at = phase.atoms
    i, j, _, d = pair_distances(phase.cell.matrix, at.frac, at.frac, distance)
    clash = (i < j) & (at.occupancy[i] + at.occupancy[j] > 1.0 + 1e-3)
    if np.any(clash):
        k = int(np.argmax(clash))
        li = phase.sites[at.site_index[i[k]]].label
        lj = phase.sites[at.site_index[j[k]]].label
        raise InputError(
            f"phase {phase.name}: atoms {li} and {lj} overlap ({d[k]:.3f} Å apart, "
            f"occupancies add to more than 1)"
        )
