"""Wyckoff letters, multiplicities and site symmetries in the *declared* space group.

Method
------
spglib (Togo et al., Sci. Technol. Adv. Mater. Meth. 4, 2384822, 2024) assigns
Wyckoff letters from its International Tables database, but only for the group it
finds itself, which for a pseudo-symmetric model (the Table 1 trigonal Na3BS3 looks
like P6_3mc at 0.01 Å) is a supergroup of the declared one.  We therefore add
"marker" atoms: the orbits, under the declared operations, of three generic points
with three extra atom types.  Their only symmetry is the declared group, so spglib
finds exactly that group and its ``wyckoffs`` are the letters of the real atoms.

Letters are reported only when spglib's standardisation is the identity (same
setting, same origin, found by matching the declared operations against spglib's
530 Hall settings); otherwise the letter is ``''`` (unknown) rather than a letter of
another setting.  Atoms are told apart by the set of sites at a position (element
and occupancy), so partially occupied or mixed sites are never merged.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import spglib

from xtal.crystal.cell import Cell
from xtal.crystal.phase import Phase
from xtal.crystal.spacegroup import SpaceGroup

# three generic points (no special coordinates); others are tried if these clash
_GENERIC = np.array([[0.1234, 0.3571, 0.6789], [0.4321, 0.0913, 0.2468], [0.7135, 0.5791, 0.0357]])
_MIN_MARKER_DIST = 0.25  # Å, keeps markers clear of atoms at spglib's tolerances


@dataclass(frozen=True)
class WyckoffSite:
    """Wyckoff description of one asymmetric-unit site.

    Attributes
    ----------
    letter
        Wyckoff letter in the declared setting (``''`` if it could not be determined).
    multiplicity
        Number of positions in the conventional cell.
    site_symmetry
        Oriented site-symmetry symbol from spglib (e.g. ``'3..'``), or ``''``.
    """

    letter: str
    multiplicity: int
    site_symmetry: str


def snap_to_special_position(
    space_group: SpaceGroup, cell: Cell, xyz: tuple[float, float, float], tol: float = 0.01
) -> tuple[float, float, float]:
    """Move a position onto the special position it nearly occupies.

    Operations that map ``xyz`` to within ``tol`` Å of itself (modulo the lattice)
    form its approximate stabiliser; the average of those images is the exact
    special position (projection onto the fixed space of the stabiliser).  Printed
    coordinates like 0.6667 for 2/3 thus become exact, so symmetry images coincide.
    """
    x = np.asarray(xyz, dtype=float)
    images = np.einsum("nij,j->ni", space_group.rotations, x) + space_group.translations
    shift = np.round(images - x)
    diff = images - shift - x
    dist = np.sqrt(np.einsum("ni,ij,nj->n", diff, cell.metric, diff))
    near = dist < tol
    snapped = (images[near] - shift[near]).mean(axis=0)
    return tuple(float(v) for v in snapped)  # type: ignore[return-value]


def wyckoff_sites(phase: Phase, symprec: float = 1e-3) -> list[WyckoffSite]:
    """Wyckoff letter, multiplicity and site symmetry of every site of ``phase``.

    Multiplicities come from the symmetry expansion (:meth:`Phase.site_multiplicity`)
    and are always given; letters and site symmetries are ``''`` when spglib's
    result cannot be mapped to the declared setting (see module docstring).
    """
    mult = [phase.site_multiplicity(i) for i in range(len(phase.sites))]
    letters = _spglib_letters(phase, symprec)
    if letters is None:
        return [WyckoffSite("", m, "") for m in mult]
    return [WyckoffSite(w, m, s) for (w, s), m in zip(letters, mult, strict=True)]


def assign_wyckoff(phase: Phase, keep_given: bool = True) -> Phase:
    """A copy of ``phase`` with Wyckoff letters, multiplicities and site symmetries filled.

    Letters already on the sites (e.g. from ``_atom_site_Wyckoff_symbol``) are kept
    when ``keep_given``; computed ones fill the gaps.
    """
    info = wyckoff_sites(phase)
    sites = []
    for s, w in zip(phase.sites, info, strict=True):
        letter = s.wyckoff if (keep_given and s.wyckoff) else w.letter
        sites.append(
            replace(s, wyckoff=letter, multiplicity=w.multiplicity, site_symmetry=w.site_symmetry)
        )
    return phase.with_sites(sites)


# -- spglib --------------------------------------------------------------------------------
def _spglib_letters(phase: Phase, symprec: float) -> list[tuple[str, str]] | None:
    sg = phase.space_group
    hall = _hall_number(sg.operations)
    if hall is None:
        return None
    atoms = phase.atoms
    # one spglib atom per distinct position (1e-4 grid, in linear time); its type is the
    # set of sites found there.  The grid is offset so that printed decimals (0.12345)
    # never sit on a cell boundary.
    keys = np.floor((atoms.frac % 1.0) * 1e4 + 0.3183099).astype(np.int64) % 10000
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # positions in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    pos = list(atoms.frac[first[order]])
    members: list[set[int]] = [set() for _ in pos]
    for k, si in zip(rank[np.ravel(inverse)], atoms.site_index, strict=True):
        members[int(k)].add(int(si))
    keys = sorted({tuple(sorted(m)) for m in members})
    types = [keys.index(tuple(sorted(m))) + 1 for m in members]
    frac = np.array(pos)
    markers = _marker_orbits(sg, phase.cell, frac)
    if markers is None:
        return None
    for j, orbit in enumerate(markers):
        frac = np.vstack([frac, orbit])
        types += [len(keys) + 1 + j] * len(orbit)
    cell = (phase.cell.matrix, frac, types)
    with _quiet_spglib():
        ds = spglib.get_symmetry_dataset(cell, symprec=symprec, hall_number=hall)
    if ds is None or ds.number != sg.number:
        return None
    if not np.allclose(ds.transformation_matrix, np.eye(3), atol=1e-6):
        return None
    shift = np.asarray(ds.origin_shift)
    if np.any(np.abs(shift - np.round(shift)) > 1e-4):
        return None
    out: list[tuple[str, str]] = []
    for i in range(len(phase.sites)):
        k = next(k for k, m in enumerate(members) if i in m)
        out.append((str(ds.wyckoffs[k]), str(ds.site_symmetry_symbols[k])))
    return out


def _marker_orbits(sg: SpaceGroup, cell: Cell, frac: np.ndarray) -> list[np.ndarray] | None:
    taken = frac.copy()
    chosen: list[np.ndarray] = []
    for c in _candidates():
        orbit = (np.einsum("nij,j->ni", sg.rotations, c) + sg.translations) % 1.0
        test = np.vstack([taken, orbit])
        if _min_distance(orbit, test, cell, len(taken)) < _MIN_MARKER_DIST:
            continue
        chosen.append(orbit)
        taken = test
        if len(chosen) == 3:
            return chosen
    return None


def _candidates() -> Iterator[np.ndarray]:
    """Marker positions to try: the fixed generic points, then 60 seeded random ones
    (drawn only if needed: importing numpy.random costs 20 ms, most phases never get there)."""
    yield from _GENERIC
    yield from np.random.default_rng(143).random((60, 3))


def _min_distance(orbit: np.ndarray, allpos: np.ndarray, cell: Cell, n_before: int) -> float:
    # minimum-image distances from each orbit point to every other point
    d = orbit[:, None, :] - allpos[None, :, :]
    d -= np.round(d)
    r = np.sqrt(np.einsum("abi,ij,abj->ab", d, cell.metric, d))
    idx = np.arange(len(orbit))
    r[idx, n_before + idx] = np.inf  # a point and itself
    return float(r.min()) if r.size else np.inf


@lru_cache(maxsize=256)
def _hall_number(operations: tuple[str, ...]) -> int | None:
    """spglib Hall number whose operations equal ``operations`` (mod lattice), or None."""
    sg = SpaceGroup.from_operations(list(operations))
    target = _op_set(sg.rotations, sg.translations)
    for hall in _hall_numbers_of(sg.number):
        with _quiet_spglib():
            db = spglib.get_symmetry_from_database(hall)
        if _op_set(np.asarray(db["rotations"]), np.asarray(db["translations"])) == target:
            return hall
    return None


@lru_cache(maxsize=256)
def _hall_numbers_of(number: int) -> tuple[int, ...]:
    with _quiet_spglib():
        return tuple(h for h in range(1, 531) if spglib.get_spacegroup_type(h).number == number)


@contextmanager
def _quiet_spglib() -> Iterator[None]:
    # spglib ≥ 2.5 warns about its error-handling mode on every call; we check results
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _op_set(rot: np.ndarray, tr: np.ndarray) -> frozenset:
    t = np.round((np.asarray(tr) % 1.0) * 24).astype(int) % 24
    return frozenset((tuple(r.astype(int).ravel()), tuple(v)) for r, v in zip(rot, t, strict=True))
