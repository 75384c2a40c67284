"""Ordered variants of a model with partially occupied sites (derived models, not data).

Method
------
1. Supercells: every Hermite normal form H (lower triangular, det n ≤ ``max_cells``)
   gives the supercell whose rows are H times the parent lattice rows (Hart & Forcade,
   Phys. Rev. B 77, 224115, 2008).
2. In each supercell the images of the chosen partial sites (e.g. B1, B2 at 1/3) are
   filled with as many whole atoms as their occupancies add up to; every choice is
   tried and kept only if each ligand (S) binds exactly one filled site, as in
   isolated trigonal-planar BS3 units.
3. Orderings equal up to symmetry are merged *before* anything is relaxed: first the
   choices that differ by a translation of the parent lattice within one supercell,
   then, with pymatgen's ``StructureMatcher``, orderings of any supercell (a cheap
   fingerprint, the B–B distance histogram per B atom, decides which pairs to match).
4. Ligands of each distinct ordering are moved by distance least squares (scipy
   ``least_squares``) so that every X–Y bond is ``bond`` Å (1.81 Å for B–S), with a
   weak restraint to the start position.
5. Each variant is written in its own space group: spglib finds the group of the
   relaxed structure (1e-3 Å) and gives its conventional standard setting; the
   asymmetric unit is one site per crystallographic orbit.  The ring distortion is
   that of :func:`xtal.analysis.rings.rings`.

The variants are **derived models**: orderings of the partially occupied sites of
the named parent model made by xtal; their provenance says so and names the parent.
They are hypotheses to test against a pattern, not published structures.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from math import comb

import numpy as np

from xtal.analysis._periodic import pair_distances
from xtal.crystal.cell import Cell
from xtal.crystal.phase import Phase, Site
from xtal.crystal.spacegroup import SpaceGroup, seitz_triplet
from xtal.errors import InputError

#: B–S bond length (Å) of trigonal-planar BS3 units.
BS_BOND = 1.81
#: Most ways to fill one supercell that are tried (the enumeration is exhaustive).
MAX_COMBINATIONS = 200_000
#: Tolerance (Å) of spglib when it finds the group of a relaxed variant.
SYMPREC = 1e-3
#: Called with (what, done, total) as the work goes on.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class OrderedVariant:
    """One symmetry-distinct ordered model.

    Attributes
    ----------
    phase
        The relaxed ordered structure in P1, in the Niggli-reduced supercell.
    model
        The same structure in its space group (conventional standard setting), one
        site per orbit: what ``xtal order --out`` writes and ``xtal refine`` refines.
    hnf
        Supercell matrix (rows: new axes in parent-axis units).
    n_cells
        det(hnf), parent cells per supercell.
    space_group, space_group_number
        spglib's group of the relaxed structure at :data:`SYMPREC`.
    bond_lengths
        All X–Y bond lengths after relaxation (Å).
    mean_distortion_index, mean_angle_variance
        Ring distortion of the relaxed model (:func:`xtal.analysis.rings.rings`).
    """

    phase: Phase
    model: Phase
    hnf: tuple[tuple[int, int, int], ...]
    n_cells: int
    space_group: str
    space_group_number: int
    bond_lengths: tuple[float, ...]
    mean_distortion_index: float
    mean_angle_variance: float


@dataclass(frozen=True)
class _Ordering:
    """One way to fill a supercell, before relaxation."""

    hnf: np.ndarray
    frac: np.ndarray  # every atom of the supercell (supercell axes)
    parent: list[int]  # index of each atom in the parent's Atoms
    cand: list[int]  # atoms on the partial sites
    lig: list[int]  # ligand atoms
    combo: tuple[int, ...]  # positions in ``cand`` that are filled
    pairs: tuple  # (i, j, shift, near) ligand–candidate pairs


def hnf_matrices(n: int) -> list[np.ndarray]:
    """All 3×3 lower-triangular Hermite normal forms of determinant ``n``."""
    out = []
    for a in range(1, n + 1):
        if n % a:
            continue
        for c in range(1, n // a + 1):
            if (n // a) % c:
                continue
            f = n // (a * c)
            # off-diagonal entries are reduced modulo the diagonal entry of their column
            for b, d, e in itertools.product(range(a), range(a), range(c)):
                out.append(np.array([[a, 0, 0], [b, c, 0], [d, e, f]]))
    return out


def ordered_variants(
    phase: Phase,
    sites: tuple[str, ...] = ("B1", "B2"),
    max_cells: int = 3,
    ligand: str = "S",
    bond: float = BS_BOND,
    progress: Progress | None = None,
) -> list[OrderedVariant]:
    """Symmetry-distinct orderings of the partial ``sites`` in supercells of ≤ ``max_cells``.

    Parameters
    ----------
    phase
        Disordered parent (e.g. trigonal Na3BS3, B1 and B2 at 1/3).
    sites
        Labels of the partially occupied sites to order (one element).
    max_cells
        Largest supercell, in parent cells.
    ligand
        Element that must bind exactly one filled site.
    bond
        Target X–Y bond length for the relaxation (Å).
    progress
        Called with ("supercells", n, max_cells) and ("relaxing", k, count).

    Returns
    -------
    list of OrderedVariant
        By supercell size, then as found; models named ``<parent>-ordered-<k>``.

    Raises
    ------
    InputError
        Unknown or fully occupied sites, several elements, or a ``max_cells`` whose
        largest supercell has more than :data:`MAX_COMBINATIONS` fillings to try.
    """
    chosen = [phase.site(lab) for lab in _existing(phase, sites)]
    elements = {s.element for s in chosen}
    if len(elements) != 1:
        raise InputError(f"sites {list(sites)} must hold one element, not {sorted(elements)}")
    if all(s.occupancy >= 1 - 1e-6 for s in chosen):
        raise InputError(f"sites {list(sites)} are fully occupied: nothing to order")
    check_max_cells(phase, tuple(sites), max_cells)
    unique = _distinct_orderings(phase, chosen, max_cells, ligand, progress)
    out = []
    for k, o in enumerate(unique, 1):
        out.append(_build(phase, o, bond, f"{phase.name}-ordered-{k}", list(sites)))
        if progress is not None:
            progress("relaxing", k, len(unique))
    return out


def check_max_cells(phase: Phase, sites: tuple[str, ...], max_cells: int) -> None:
    """Refuse, in one line, a ``max_cells`` too small or too large to enumerate."""
    if max_cells < 1:
        raise InputError(f"--max-cells must be at least 1, not {max_cells}")
    at = phase.atoms
    labels = [phase.sites[i].label for i in at.site_index]
    per_cell = sum(lab in sites for lab in labels)
    filled = sum(float(at.occupancy[i]) for i, lab in enumerate(labels) if lab in sites)
    worst, largest = 0, 0
    for n in range(1, max_cells + 1):
        ways = comb(n * per_cell, round(n * filled))
        if ways > MAX_COMBINATIONS:
            worst = n
            break
        largest = n
    if worst:
        raise InputError(
            f"--max-cells {max_cells}: a supercell of {worst} cells has "
            f"C({worst * per_cell},{round(worst * filled)}) = "
            f"{comb(worst * per_cell, round(worst * filled))} ways to fill the sites, more "
            f"than the {MAX_COMBINATIONS} xtal tries per supercell; use --max-cells ≤ {largest}"
        )


def _existing(phase: Phase, labels: tuple[str, ...]) -> tuple[str, ...]:
    have = {s.label for s in phase.sites}
    missing = [lab for lab in labels if lab not in have]
    if missing:
        raise InputError(f"phase {phase.name} has no site(s) {missing}")
    return labels


# -- enumeration -----------------------------------------------------------------------------
def _distinct_orderings(
    phase: Phase, chosen: list[Site], max_cells: int, ligand: str, progress: Progress | None
) -> list[_Ordering]:
    """Orderings of every supercell up to ``max_cells``, one per symmetry class."""
    from pymatgen.analysis.structure_matcher import StructureMatcher

    matcher = StructureMatcher(primitive_cell=True, scale=False, attempt_supercell=True)
    kept: list[tuple[tuple, object, _Ordering]] = []
    for n in range(1, max_cells + 1):
        for hnf in hnf_matrices(n):
            for o in _orderings_in(phase, hnf, chosen, ligand):
                struct = _unrelaxed(phase, o)
                key = _fingerprint(struct, chosen[0].element)
                if any(k == key and matcher.fit(struct, s) for k, s, _ in kept):
                    continue
                kept.append((key, struct, o))
        if progress is not None:
            progress("supercells", n, max_cells)
    return [o for _, _, o in kept]


def _supercell_atoms(phase: Phase, hnf: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Fractional positions (supercell axes) and parent-atom indices of all atoms."""
    at = phase.atoms
    frac, parent = [], []
    for k, f in enumerate(at.frac):
        new = _in_supercell(f + _box(hnf), hnf)
        frac.extend(new)
        parent.extend([k] * len(new))
    return np.array(frac), parent


def _box(hnf: np.ndarray) -> np.ndarray:
    """Integer translations of the parent that cover the supercell."""
    corners = np.array(list(itertools.product((0, 1), repeat=3))) @ hnf
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    return np.array(list(itertools.product(*(range(lo[i] - 1, hi[i] + 1) for i in range(3)))))


def _in_supercell(parent_frac: np.ndarray, hnf: np.ndarray) -> np.ndarray:
    """The points (parent axes) that fall in the supercell, in supercell axes."""
    new = np.round(parent_frac @ np.linalg.inv(hnf.astype(float)), 10)
    inside = np.all((new >= 0) & (new < 1), axis=1)
    return new[inside] % 1.0


def _orderings_in(
    phase: Phase, hnf: np.ndarray, chosen: list[Site], ligand: str
) -> list[_Ordering]:
    """Fillings of one supercell in which each ligand binds one site, one per translation class."""
    at = phase.atoms
    frac, parent = _supercell_atoms(phase, hnf)
    matrix = hnf @ phase.cell.matrix
    labels = {s.label for s in chosen}
    site_label = [phase.sites[at.site_index[p]].label for p in parent]
    cand = [i for i, lab in enumerate(site_label) if lab in labels]
    lig = [i for i, p in enumerate(parent) if at.elements[p] == ligand]
    filled = sum(at.occupancy[parent[i]] for i in cand)
    k = round(filled)
    if abs(filled - k) > 1e-3 or k == 0 or not lig:
        return []
    i, j, shift, dist = pair_distances(matrix, frac[lig], frac[cand], 3.0)
    if len(dist) == 0:
        return []
    near = dist < 1.25 * dist.min()
    inc = np.zeros((len(lig), len(cand)), dtype=np.int8)  # ligand a is bonded to site b
    for a, b in zip(i[near], j[near], strict=True):
        inc[a, b] += 1
    combos = np.array(list(itertools.combinations(range(len(cand)), k)), dtype=np.int32)
    good = np.all(inc[:, combos].sum(axis=2) == 1, axis=0)
    perms = _translation_perms(frac[cand], hnf)
    seen, out = set(), []
    for combo in combos[good]:
        canon = min(tuple(sorted(p[combo])) for p in perms)
        if canon in seen:
            continue
        seen.add(canon)
        out.append(_Ordering(hnf, frac, parent, cand, lig, tuple(int(c) for c in combo),
                             (i, j, shift, near)))
    return out


def _translation_perms(frac: np.ndarray, hnf: np.ndarray) -> list[np.ndarray]:
    """How each parent-lattice translation inside the supercell permutes the points ``frac``."""
    steps = _in_supercell(_box(hnf).astype(float), hnf)
    perms = []
    for t in steps:
        moved = (frac + t) % 1.0
        d = moved[:, None, :] - frac[None, :, :]
        d -= np.round(d)
        perms.append(np.argmin(np.abs(d).sum(axis=2), axis=1))
    return perms


def _unrelaxed(phase: Phase, o: _Ordering):
    """The ordering as a pymatgen Structure (whole atoms, ligands not yet moved)."""
    from pymatgen.core import Lattice, Structure

    at = phase.atoms
    filled = {o.cand[c] for c in o.combo}
    keep = [i for i in range(len(o.parent)) if i not in set(o.cand) - filled]
    species = [at.elements[o.parent[i]] for i in keep]
    return Structure(Lattice(o.hnf @ phase.cell.matrix), species, o.frac[keep])


def _fingerprint(struct, element: str) -> tuple:
    """B–B distances within 8 Å per B atom (0.01 Å bins): equal for equivalent orderings."""
    idx = [k for k, s in enumerate(struct) if s.specie.symbol == element]
    counts: dict[float, int] = {}
    for k in idx:
        for nb in struct.get_neighbors(struct[k], 8.0):
            if nb.specie.symbol == element:
                key = round(nb.nn_distance, 2)
                counts[key] = counts.get(key, 0) + 1
    return tuple(sorted((d, Fraction(c, len(idx))) for d, c in counts.items()))


# -- one variant -----------------------------------------------------------------------------
def _build(phase: Phase, o: _Ordering, bond: float, name: str, labels: list[str]) -> OrderedVariant:
    from xtal.analysis.rings import rings

    at = phase.atoms
    matrix = o.hnf @ phase.cell.matrix
    filled = {o.cand[c] for c in o.combo}
    i, j, shift, near = o.pairs
    # bonds: (ligand row, filled atom index, lattice shift of the filled atom)
    bonds = [(a, o.cand[b], s) for a, b, s, ok in zip(i, j, shift, near, strict=True)
             if ok and o.cand[b] in filled]
    pos = _relax(o.frac, o.lig, bonds, matrix, bond)
    provenance = _provenance(phase, o.hnf, labels, bond, len(bonds))
    p1 = _p1_phase(phase, o, pos, matrix, filled, name, provenance)
    lengths = tuple(float(np.linalg.norm((o.frac[b] + s) @ matrix - pos[a])) for a, b, s in bonds)
    center, ligand = at.elements[o.parent[o.cand[0]]], at.elements[o.parent[o.lig[0]]]
    ring_rep = rings(p1, center=center, ligand=ligand)
    model, symbol, number = _symmetrized(p1, provenance)
    return OrderedVariant(
        phase=p1,
        model=model,
        hnf=tuple(tuple(int(v) for v in row) for row in o.hnf),
        n_cells=round(abs(np.linalg.det(o.hnf))),
        space_group=symbol,
        space_group_number=number,
        bond_lengths=lengths,
        mean_distortion_index=ring_rep.mean_distortion_index,
        mean_angle_variance=ring_rep.mean_angle_variance,
    )


def _relax(frac, lig, bonds, matrix, bond) -> np.ndarray:
    """Cartesian ligand positions with every bond at ``bond`` Å (σ 0.01 Å; start σ 1 Å)."""
    from scipy.optimize import least_squares

    x0 = frac[lig] @ matrix

    def residual(x: np.ndarray) -> np.ndarray:
        pos = x.reshape(-1, 3)
        r = [(np.linalg.norm((frac[b] + s) @ matrix - pos[a]) - bond) / 0.01 for a, b, s in bonds]
        return np.concatenate([r, (x - x0.ravel()) / 1.0])

    return least_squares(residual, x0.ravel(), method="lm").x.reshape(-1, 3)


def _p1_phase(phase, o: _Ordering, pos, matrix, filled, name, provenance) -> Phase:
    """The relaxed variant in P1, in its Niggli-reduced cell (√3×√3: a = b, γ = 120°)."""
    import spglib

    at = phase.atoms
    new = pos @ np.linalg.inv(matrix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        reduced = np.asarray(spglib.niggli_reduce(matrix), float)
    to_reduced = np.linalg.inv(np.rint(reduced @ np.linalg.inv(matrix)))
    lig_row = {atom: row for row, atom in enumerate(o.lig)}
    drop = set(o.cand) - filled
    sites, count = [], {}
    for idx, p in enumerate(o.parent):
        if idx in drop:
            continue
        src = phase.sites[at.site_index[p]]
        count[src.label] = count.get(src.label, 0) + 1
        f = new[lig_row[idx]] if idx in lig_row else o.frac[idx]
        xyz = np.round(f @ to_reduced, 12) % 1.0
        occ = 1.0 if idx in filled else src.occupancy
        sites.append(Site(f"{src.label}_{count[src.label]}", src.element, tuple(xyz), occ,
                          src.b_iso))
    return Phase(name=name, cell=Cell(*_parameters(reduced)),
                 space_group=SpaceGroup.from_symbol("P 1"), sites=tuple(sites),
                 provenance=provenance)


def _provenance(parent: Phase, hnf: np.ndarray, labels: list[str], bond: float,
                n_bonds: int) -> str:
    return (
        f"derived model made by xtal from {parent.name}: an ordering of its partially "
        f"occupied sites {', '.join(labels)} in the supercell {hnf.tolist()} of its cell "
        f"(rows in parent axes), {n_bonds} bonds relaxed to {bond} Å, written in the space "
        f"group spglib finds at {SYMPREC} Å; a hypothesis to test against data, not a "
        "published structure"
    )


def _parameters(m: np.ndarray) -> tuple[float, ...]:
    a, b, c = np.linalg.norm(m, axis=1)

    def ang(u: np.ndarray, v: np.ndarray) -> float:
        return float(np.degrees(np.arccos(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))))

    return (a, b, c, ang(m[1], m[2]), ang(m[0], m[2]), ang(m[0], m[1]))


# -- symmetry --------------------------------------------------------------------------------
def _symmetrized(p1: Phase, provenance: str) -> tuple[Phase, str, int]:
    """``p1`` in its spglib group, conventional standard setting; with the group's symbol."""
    import spglib

    from xtal.analysis.symmetry import spglib_cell

    cell, _, _ = spglib_cell(p1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        lattice, positions, numbers = spglib.standardize_cell(
            cell, to_primitive=False, no_idealize=False, symprec=SYMPREC)
        ds = spglib.get_symmetry_dataset((lattice, positions, numbers), symprec=1e-5)
    if ds is None:
        raise InputError(f"spglib found no space group for {p1.name}")
    ops = [seitz_triplet(r, t) for r, t in zip(ds.rotations, ds.translations, strict=True)]
    group = SpaceGroup.from_operations(ops)
    by_number = {n: k for k, n in enumerate(cell[2])}  # first P1 atom of each type
    sites, count = [], {}
    for k in sorted(set(int(e) for e in ds.equivalent_atoms)):
        src = p1.sites[by_number[int(numbers[k])]]
        count[src.element] = count.get(src.element, 0) + 1
        xyz = tuple(float(v) for v in np.round(positions[k], 12) % 1.0)
        sites.append(Site(f"{src.element}{count[src.element]}", src.element, xyz,
                          src.occupancy, src.b_iso))
    model = Phase(name=p1.name, cell=Cell(*_parameters(np.asarray(lattice, float))),
                  space_group=group, sites=tuple(sites), provenance=provenance)
    density = len(model.atoms) / model.cell.volume
    if abs(density * p1.cell.volume - len(p1.atoms)) > 1e-6 * len(p1.atoms):
        raise InputError(f"{p1.name}: the model in its space group does not hold every atom")
    return model, str(ds.international), int(ds.number)
