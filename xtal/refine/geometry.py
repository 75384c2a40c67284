"""Interatomic distances for restraints: the shortest distance between two sites.

All symmetry images of the second site and lattice translations −1…1 are
searched (distances in Å from the direct metric tensor, IT Vol. B §1.1).
"""

from __future__ import annotations

import itertools

import numpy as np

from xtal.crystal.phase import Phase, orbit
from xtal.errors import InputError

_SHIFTS = np.array(list(itertools.product((-1, 0, 1), repeat=3)), float)


def shortest_distance(phase: Phase, label1: str, label2: str) -> float:
    """Shortest distance (Å) from site ``label1`` to any image of site ``label2``."""
    try:
        s1, s2 = phase.site(label1), phase.site(label2)
    except KeyError as exc:
        raise InputError(f"restraint names an unknown site: {exc}") from None
    _, images = orbit(phase.space_group, s2.xyz)
    d = (images[:, None, :] + _SHIFTS[None, :, :]).reshape(-1, 3) - np.asarray(s1.xyz)
    dist2 = np.einsum("ni,ij,nj->n", d, phase.cell.metric, d)
    if label1 == label2:
        dist2 = dist2[dist2 > 1e-12]
    return float(np.sqrt(dist2.min()))
