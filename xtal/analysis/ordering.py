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
3. Ligands are moved by distance least squares (scipy ``least_squares``) so that every
   X–Y bond is ``bond`` Å (1.81 Å for B–S), with a weak restraint to the start position.
4. Orderings equal up to symmetry are merged (pymatgen ``StructureMatcher``); each
   variant carries its spglib group and ring distortion.

The variants are **derived models** of the disordered structure, labelled as such;
they are not the monoclinic ICSD 411608 structure, whose coordinates are not shipped.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np

from xtal.analysis._periodic import pair_distances
from xtal.crystal.cell import Cell
from xtal.crystal.phase import Phase, Site
from xtal.crystal.spacegroup import SpaceGroup
from xtal.errors import InputError

#: B–S bond length (Å) of trigonal-planar BS3 units.
BS_BOND = 1.81
_MAX_COMBINATIONS = 200_000


@dataclass(frozen=True)
class OrderedVariant:
    """One symmetry-distinct ordered model.

    Attributes
    ----------
    phase
        The relaxed ordered structure in P1 (provenance says it is derived).
    hnf
        Supercell matrix (rows: new axes in parent-axis units).
    n_cells
        det(hnf), parent cells per supercell.
    space_group, space_group_number
        spglib's group of the relaxed structure at 1e-3 Å.
    bond_lengths
        All X–Y bond lengths after relaxation (Å).
    mean_distortion_index, mean_angle_variance
        Ring distortion of the relaxed model (:func:`xtal.analysis.rings.rings`).
    """

    phase: Phase
    hnf: tuple[tuple[int, int, int], ...]
    n_cells: int
    space_group: str
    space_group_number: int
    bond_lengths: tuple[float, ...]
    mean_distortion_index: float
    mean_angle_variance: float


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
    """
    chosen = [phase.site(lab) for lab in _existing(phase, sites)]
    elements = {s.element for s in chosen}
    if len(elements) != 1:
        raise InputError(f"sites {list(sites)} must hold one element, not {sorted(elements)}")
    if all(s.occupancy >= 1 - 1e-6 for s in chosen):
        raise InputError(f"sites {list(sites)} are fully occupied: nothing to order")
    from pymatgen.analysis.structure_matcher import StructureMatcher

    matcher = StructureMatcher(primitive_cell=True, scale=False, attempt_supercell=True)
    kept: list[tuple[object, OrderedVariant]] = []
    for n in range(1, max_cells + 1):
        for hnf in hnf_matrices(n):
            for variant in _variants_in(phase, hnf, chosen, ligand, bond):
                struct = _pymatgen(variant.phase)
                if any(matcher.fit(struct, other) for other, _ in kept):
                    continue
                kept.append((struct, variant))
    return [v for _, v in kept]


def _existing(phase: Phase, labels: tuple[str, ...]) -> tuple[str, ...]:
    have = {s.label for s in phase.sites}
    missing = [lab for lab in labels if lab not in have]
    if missing:
        raise InputError(f"phase {phase.name} has no site(s) {missing}")
    return labels


def _supercell_atoms(phase: Phase, hnf: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Fractional positions (supercell axes) and parent-atom indices of all atoms."""
    at = phase.atoms
    corners = np.array(list(itertools.product((0, 1), repeat=3))) @ hnf
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    shifts = np.array(list(itertools.product(*(range(lo[i] - 1, hi[i] + 1) for i in range(3)))))
    inv = np.linalg.inv(hnf.astype(float))
    frac, parent = [], []
    for k, f in enumerate(at.frac):
        new = (f + shifts) @ inv
        new = np.round(new, 10)
        inside = np.all((new >= 0) & (new < 1), axis=1)
        frac.extend(new[inside] % 1.0)
        parent.extend([k] * int(inside.sum()))
    return np.array(frac), parent


def _variants_in(
    phase: Phase, hnf: np.ndarray, chosen: list[Site], ligand: str, bond: float
) -> list[OrderedVariant]:
    at = phase.atoms
    n = round(abs(np.linalg.det(hnf)))
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
    # incidence: ligand a is bonded to candidate b
    inc = np.zeros((len(lig), len(cand)), dtype=int)
    for a, b in zip(i[near], j[near], strict=True):
        inc[a, b] += 1
    if len(cand) > 40 or _n_choose(len(cand), k) > _MAX_COMBINATIONS:
        raise InputError(f"supercell of {n} cells has too many orderings; lower max_cells")
    out = []
    for combo in itertools.combinations(range(len(cand)), k):
        if not np.all(inc[:, list(combo)].sum(axis=1) == 1):
            continue
        out.append(_build(phase, hnf, frac, parent, cand, lig, combo, (i, j, shift, near), bond))
    return out


def _n_choose(n: int, k: int) -> int:
    from math import comb

    return comb(n, k)


def _build(phase, hnf, frac, parent, cand, lig, combo, pairs, bond) -> OrderedVariant:
    import spglib  # heavy imports: only when a variant is built
    from scipy.optimize import least_squares

    from xtal.analysis.rings import rings

    at = phase.atoms
    matrix = hnf @ phase.cell.matrix
    i, j, shift, near = pairs
    filled = {cand[c] for c in combo}
    drop = set(cand) - filled
    lig_pos = {atom: row for row, atom in enumerate(lig)}
    # bonds: (ligand row, filled atom index, lattice shift of the filled atom)
    bonds = [
        (a, cand[b], s)
        for a, b, s, ok in zip(i, j, shift, near, strict=True)
        if ok and cand[b] in filled
    ]
    x0 = frac[lig] @ matrix

    def residual(x: np.ndarray) -> np.ndarray:
        pos = x.reshape(-1, 3)
        r = [(np.linalg.norm((frac[b] + s) @ matrix - pos[a]) - bond) / 0.01 for a, b, s in bonds]
        return np.concatenate([r, (x - x0.ravel()) / 1.0])

    fit = least_squares(residual, x0.ravel(), method="lm")
    new = fit.x.reshape(-1, 3) @ np.linalg.inv(matrix)
    # report the variant in its Niggli-reduced cell (√3×√3: a = b, γ = 120°)
    reduced = np.asarray(spglib.niggli_reduce(matrix), float)
    to_reduced = np.linalg.inv(np.rint(reduced @ np.linalg.inv(matrix)))
    sites, count = [], {}
    for idx, p in enumerate(parent):
        if idx in drop:
            continue
        src = phase.sites[at.site_index[p]]
        count[src.label] = count.get(src.label, 0) + 1
        xyz = (new[lig_pos[idx]] if idx in lig_pos else frac[idx]) @ to_reduced % 1.0
        occ = 1.0 if idx in filled else src.occupancy
        sites.append(
            Site(f"{src.label}_{count[src.label]}", src.element, tuple(xyz), occ, src.b_iso)
        )
    cell = Cell(*_parameters(reduced))
    name = f"{phase.name}-ordered"
    variant_phase = Phase(
        name=name,
        cell=cell,
        space_group=SpaceGroup.from_symbol("P 1"),
        sites=tuple(sites),
        provenance=(
            f"derived model: ordered variant of {phase.name} (supercell {hnf.tolist()}), "
            f"{len(bonds)} bonds relaxed to {bond} Å by xtal; not ICSD 411608"
        ),
    )
    lengths = tuple(
        float(np.linalg.norm((frac[b] + s) @ matrix - fit.x.reshape(-1, 3)[a])) for a, b, s in bonds
    )
    center = at.elements[parent[cand[0]]]
    ring_rep = rings(variant_phase, center=center, ligand=at.elements[parent[lig[0]]])
    sym, num = _spglib_group(variant_phase)
    return OrderedVariant(
        phase=variant_phase,
        hnf=tuple(tuple(int(v) for v in row) for row in hnf),
        n_cells=round(abs(np.linalg.det(hnf))),
        space_group=sym,
        space_group_number=num,
        bond_lengths=lengths,
        mean_distortion_index=ring_rep.mean_distortion_index,
        mean_angle_variance=ring_rep.mean_angle_variance,
    )


def _parameters(m: np.ndarray) -> tuple[float, ...]:
    a, b, c = np.linalg.norm(m, axis=1)

    def ang(u: np.ndarray, v: np.ndarray) -> float:
        return float(np.degrees(np.arccos(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))))

    return (a, b, c, ang(m[1], m[2]), ang(m[0], m[2]), ang(m[0], m[1]))


def _spglib_group(phase: Phase, symprec: float = 1e-3) -> tuple[str, int]:
    import spglib

    from xtal.analysis.symmetry import spglib_cell

    cell, _, _ = spglib_cell(phase)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ds = spglib.get_symmetry_dataset(cell, symprec=symprec)
    return (str(ds.international), int(ds.number)) if ds is not None else ("?", 0)


def _pymatgen(phase: Phase):
    from pymatgen.core import Lattice, Structure

    at = phase.atoms
    species = [{el: float(o)} for el, o in zip(at.elements, at.occupancy, strict=True)]
    return Structure(Lattice(phase.cell.matrix), species, at.frac)
