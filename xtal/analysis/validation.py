"""Checks that a structure model is what its name says (used when a CIF is registered).

:func:`validate_na3bs3_monoclinic` is the check ``Na3BS3-monoclinic`` must pass before
``xtal structures add`` copies a user's CIF into the registry
(:func:`xtal.app.structures.register_structure`).
"""

from __future__ import annotations

import os

import numpy as np

from xtal.crystal.phase import Phase
from xtal.errors import InputError

# B–S bond window and planarity of a BS3 unit (B–S ≈ 1.81 Å in thioborates)
BS_MIN, BS_MAX = 1.70, 1.95
PLANAR_ANGLE_SUM = 355.0  # degrees
PLANAR_OUT_OF_PLANE = 0.1  # Å


def validate_na3bs3_monoclinic(phase: Phase, path: str | os.PathLike[str] | None = None) -> None:
    """Check that ``phase`` is a plausible monoclinic Na3BS3 model.

    Criteria (physics.md §1: isolated trigonal-planar BS3 units): the composition
    reduces to Na3BS3; the space group is monoclinic; every B site has exactly three
    S neighbours within 1.70–1.95 Å (periodic images included) and the BS3 unit is
    planar: sum of the three S–B–S angles ≥ 355° or B within 0.1 Å of the S3 plane.

    Raises
    ------
    InputError
        Naming the file and the first criterion that fails.
    """
    formula = phase.formula_and_z[0]
    if formula != {"Na": 3, "B": 1, "S": 3}:
        raise InputError(f"not Na3BS3: the composition reduces to {phase.formula}", path)
    if phase.space_group.crystal_system != "monoclinic":
        raise InputError(
            f"not monoclinic Na3BS3: space group {phase.space_group.hm_compact}"
            f" (No. {phase.space_group.number}) is {phase.space_group.crystal_system}",
            path,
        )
    for site in phase.sites:
        if site.element != "B":
            continue
        vecs = neighbour_vectors(phase, site.xyz, "S", BS_MIN, BS_MAX)
        if len(vecs) != 3:
            raise InputError(
                f"not Na3BS3 with BS3 units: B site {site.label} has {len(vecs)} S within"
                f" {BS_MIN}-{BS_MAX} Å (expected 3)",
                path,
            )
        angle_sum, height = _planarity(vecs)
        if angle_sum < PLANAR_ANGLE_SUM and height > PLANAR_OUT_OF_PLANE:
            raise InputError(
                f"not Na3BS3 with planar BS3 units: at B site {site.label} the S-B-S angles sum"
                f" to {angle_sum:.1f}° and B is {height:.2f} Å out of the S3 plane",
                path,
            )


def neighbour_vectors(
    phase: Phase, frac: tuple[float, float, float], element: str, rmin: float, rmax: float
) -> np.ndarray:
    """Cartesian vectors (Å) from ``frac`` to every ``element`` atom with rmin ≤ r ≤ rmax.

    All atoms of the cell and their images in the 5×5×5 block of neighbouring cells
    are searched, so bonds across cell edges are found.
    """
    atoms = phase.atoms
    sel = np.array([e == element for e in atoms.elements], dtype=bool)
    if not sel.any():
        return np.zeros((0, 3))
    rng = np.arange(-2, 3)
    shifts = np.array(np.meshgrid(rng, rng, rng, indexing="ij")).reshape(3, -1).T
    d = atoms.frac[sel][None, :, :] + shifts[:, None, :] - np.asarray(frac)
    cart = d.reshape(-1, 3) @ phase.cell.matrix
    r = np.linalg.norm(cart, axis=1)
    return cart[(r >= rmin) & (r <= rmax)]



def _planarity(vecs: np.ndarray) -> tuple[float, float]:
    """Sum of the three S–B–S angles (degrees) and B's distance to the S3 plane (Å)."""
    total = 0.0
    for i, j in ((0, 1), (0, 2), (1, 2)):
        c = vecs[i] @ vecs[j] / (np.linalg.norm(vecs[i]) * np.linalg.norm(vecs[j]))
        total += float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))
    normal = np.cross(vecs[1] - vecs[0], vecs[2] - vecs[0])
    height = abs(float(vecs[0] @ normal)) / float(np.linalg.norm(normal))
    return total, height
