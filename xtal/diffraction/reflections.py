"""Reflection lists: which hkl diffract, where, and how many are equivalent.

Conventions
-----------
* d from the reciprocal metric tensor, 1/d² = hᵀ G* h (physics.md §3).
* Equivalent reflections are those related by the **Laue group** (point group
  plus inversion), because a powder pattern superposes h and −h.  With anomalous
  dispersion |F(h)| ≠ |F(−h)| in a non-centrosymmetric group, so the intensity
  of a Laue family is ``m/2 · (|F(h)|² + |F(−h)|²)`` (physics.md §4): both F(h)
  and F(−h) are kept for every representative h.
* Systematic absences follow from the operations: h is extinct when some
  operation (R, t) has hR = h and h·t ∉ ℤ (IT Vol. A, §1.6.4).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

from xtal.crystal.cell import Cell
from xtal.crystal.spacegroup import SpaceGroup
from xtal.util.arrays import unique


@dataclass(frozen=True, eq=False)
class ReflectionList:
    """Symmetry-unique reflections of one phase (one representative per Laue family).

    Attributes
    ----------
    hkl
        Representatives, shape (n, 3), integers.
    multiplicity
        Size of each Laue family.
    d
        d-spacings (Å), in decreasing order.
    columns
        Optional per-reflection values attached by a calculation, e.g.
        ``two_theta`` (observed Kα1 position, degrees), ``f_sq`` (|F|², electrons²,
        Friedel-averaged), ``intensity`` (integrated intensity of the Kα1 peak).
    """

    hkl: np.ndarray
    multiplicity: np.ndarray
    d: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.d)

    @property
    def s(self) -> np.ndarray:
        """sinθ/λ = 1/(2d) (Å⁻¹)."""
        return 0.5 / self.d

    def two_theta(self, wavelength: float) -> np.ndarray:
        """Bragg angles 2θ (degrees) at ``wavelength``; NaN where λ/2d > 1."""
        with np.errstate(invalid="ignore"):
            return 2.0 * np.degrees(np.arcsin(wavelength / (2.0 * self.d)))

    def with_cell(self, cell: Cell) -> ReflectionList:
        """The same hkl with d recomputed for another cell (order may change)."""
        d = cell.d_spacing(self.hkl)
        order = np.argsort(-d, kind="stable")
        return ReflectionList(self.hkl[order], self.multiplicity[order], d[order])

    def with_columns(self, **cols: np.ndarray) -> ReflectionList:
        """A copy with extra per-reflection columns."""
        return replace(self, columns={**self.columns, **cols})

    def select(self, mask: np.ndarray) -> ReflectionList:
        """The reflections where ``mask`` is true."""
        return ReflectionList(
            self.hkl[mask],
            self.multiplicity[mask],
            self.d[mask],
            {k: v[mask] for k, v in self.columns.items()},
        )

    def laue_orbit(self, index: int, laue_rotations: np.ndarray) -> np.ndarray:
        """All distinct members of the Laue family of reflection ``index``."""
        return unique(self.hkl[index] @ laue_rotations, axis=0)


def generate_reflections(cell: Cell, space_group: SpaceGroup, d_min: float) -> ReflectionList:
    """All symmetry-unique, allowed reflections with d ≥ ``d_min``.

    Parameters
    ----------
    cell
        Unit cell.
    space_group
        Space group (its operations give extinctions and the Laue group).
    d_min
        Smallest d-spacing (Å), e.g. λ / (2 sin θ_max).
    """
    if d_min <= 0:
        raise ValueError("d_min must be positive")
    # |h| ≤ |a|/d_min because h = a·d* and |d*| ≤ 1/d_min
    hmax = np.floor(np.array([cell.a, cell.b, cell.c]) / d_min).astype(int)
    rng = [np.arange(-m, m + 1) for m in hmax]
    h = np.stack(np.meshgrid(*rng, indexing="ij"), axis=-1).reshape(-1, 3)
    inv_d2 = np.einsum("ni,ij,nj->n", h, cell.reciprocal_metric, h)
    keep = (inv_d2 > 0) & (inv_d2 <= 1.0 / d_min**2 * (1 + 1e-12))
    reps, mult = _families(h[keep], space_group)
    d = cell.d_spacing(reps)
    order = np.lexsort((-reps[:, 2], -reps[:, 1], -reps[:, 0], -np.round(d, 10)))
    return ReflectionList(reps[order], mult[order], d[order])


#: Laue families of recent (space group, hkl set) pairs: a series refines the same phase
#: pattern after pattern with nearly the same cell, which nearly always gives the same
#: hkl set; a set that differs (a reflection crossing d_min) is simply computed again.
_FAMILIES: dict[tuple[bytes, bytes], tuple[np.ndarray, np.ndarray]] = {}
_FAMILIES_KEPT = 8


def _families(h: np.ndarray, sg: SpaceGroup) -> tuple[np.ndarray, np.ndarray]:
    """Representatives and family sizes of the allowed reflections among ``h``."""
    ops = sg.rotations.tobytes() + np.round(sg.translations, 9).tobytes()
    # digests, not the arrays: a large cell's hkl set is megabytes
    key = (hashlib.blake2b(ops + sg.laue_rotations.tobytes()).digest(),
           hashlib.blake2b(np.ascontiguousarray(h, dtype=np.int64).tobytes()).digest())
    hit = _FAMILIES.get(key)
    if hit is None:
        allowed = h[~_extinct(h, sg)]
        hit = _laue_families(allowed, sg.laue_rotations)
        for a in hit:
            a.flags.writeable = False
        if len(_FAMILIES) >= _FAMILIES_KEPT:
            _FAMILIES.pop(next(iter(_FAMILIES)))
        _FAMILIES[key] = hit
    return hit


def _extinct(h: np.ndarray, sg: SpaceGroup) -> np.ndarray:
    """True where some operation fixing h gives a non-integral phase h·t."""
    hr = np.einsum("ni,mij->nmj", h, sg.rotations)  # h R for every operation
    fixed = np.all(hr == h[:, None, :], axis=2)
    phase = (h @ sg.translations.T) % 1.0
    off = (phase > 1e-6) & (phase < 1 - 1e-6)
    return np.any(fixed & off, axis=1)


def _laue_families(h: np.ndarray, laue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Representative (lexicographically largest image) and family size of each h."""
    images = np.einsum("ni,mij->nmj", h, laue)  # (n, k, 3)
    # encode each image as one integer so that max() picks a canonical member
    span = int(np.abs(h).max()) + 1 if len(h) else 1
    base = 2 * span + 1
    codes = ((images[..., 0] + span) * base + (images[..., 1] + span)) * base + (
        images[..., 2] + span
    )
    canon = codes.max(axis=1)
    uniq, first = np.unique(canon, return_index=True)
    reps = images[first, np.argmax(codes[first], axis=1)]
    # family size = number of distinct images of the representative
    mult = np.array([len(unique(c)) for c in codes[first]], dtype=int)
    del uniq
    return reps.astype(int), mult
