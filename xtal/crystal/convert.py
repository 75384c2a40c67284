"""Conversion between :class:`~xtal.crystal.phase.Phase` and pymatgen / ASE objects.

Conventions
-----------
* pymatgen: one :class:`~pymatgen.core.Site` per distinct position of the unit cell;
  partial or mixed occupancy is a species dict ``{'O': 0.8333, 'F': 0.1667}``
  (pymatgen's disordered-structure convention).  Site properties ``label`` and
  ``b_iso`` (Å²) carry the xtal labels and ADPs.
* ASE: one atom per distinct position, with the majority element as its symbol;
  occupancies follow ASE's CIF reader/writer (``ase.io.cif``): integer
  ``atoms.arrays['spacegroup_kinds']`` per atom and
  ``atoms.info['occupancy'] = {str(kind): {symbol: occupancy}}``.
  ``atoms.arrays['b_iso']`` carries the ADPs.
* Back to a Phase: the space group and asymmetric unit are recovered with pymatgen's
  SpacegroupAnalyzer (spglib), which tells sites apart by their full species dict,
  so a 1/3-occupied B is never merged with anything else.  The result is in spglib's
  standard conventional setting and may have *higher* symmetry than the original
  declaration when the coordinates allow it (at ``symprec``).
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from xtal.crystal.cell import Cell
from xtal.crystal.phase import Phase, Site
from xtal.crystal.spacegroup import SpaceGroup, seitz_triplet
from xtal.crystal.wyckoff import assign_wyckoff
from xtal.errors import InputError

if TYPE_CHECKING:
    import ase
    from pymatgen.core import Structure

DEFAULT_B_ISO = 1.0  # Å², when the source has no ADPs


def _positions(phase: Phase) -> list[tuple[np.ndarray, list[int]]]:
    """Distinct positions of the cell and the indices (into ``phase.atoms``) found there."""
    atoms = phase.atoms
    out: list[tuple[np.ndarray, list[int]]] = []
    for i, p in enumerate(atoms.frac):
        for q, members in out:
            d = p - q
            if np.all(np.abs(d - np.round(d)) < 1e-4):
                members.append(i)
                break
        else:
            out.append((p, [i]))
    return out


def to_pymatgen(phase: Phase) -> Structure:
    """The unit cell of ``phase`` as a (possibly disordered) pymatgen Structure."""
    from pymatgen.core import Lattice, Structure

    atoms = phase.atoms
    species, coords, labels, b_iso = [], [], [], []
    for p, members in _positions(phase):
        occ: dict[str, float] = defaultdict(float)
        for i in members:
            occ[atoms.elements[i]] += float(atoms.occupancy[i])
        species.append(dict(occ))
        coords.append(p)
        labels.append("/".join(phase.sites[atoms.site_index[i]].label for i in members))
        b_iso.append(float(np.mean(atoms.b_iso[members])))
    lattice = Lattice.from_parameters(*phase.cell.parameters)
    return Structure(lattice, species, coords, site_properties={"label": labels, "b_iso": b_iso})


def from_pymatgen(structure: Structure, name: str, symprec: float = 1e-3) -> Phase:
    """A Phase from a pymatgen Structure, symmetrised to recover space group and sites.

    Parameters
    ----------
    structure
        Ordered or disordered structure (species dicts become mixed/partial sites).
    name
        Phase name.
    symprec
        Distance tolerance (Å) of the symmetry search (spglib via pymatgen).
    """
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # spglib's error-mode notice
            sga = SpacegroupAnalyzer(structure, symprec=symprec)
            refined = sga.get_refined_structure(keep_site_properties=True)
            sga2 = SpacegroupAnalyzer(refined, symprec=symprec)
            sym = sga2.get_symmetrized_structure()
            ops = sga2.get_symmetry_operations(cartesian=False)
    except Exception as exc:  # spglib failures surface as several exception types
        raise InputError(f"{name}: symmetry analysis failed ({exc})") from None
    triplets = [seitz_triplet(op.rotation_matrix, op.translation_vector) for op in ops]
    sg = SpaceGroup.from_operations(sorted(set(triplets)))
    lat = refined.lattice
    cell = Cell(lat.a, lat.b, lat.c, lat.alpha, lat.beta, lat.gamma)
    counters: dict[str, int] = defaultdict(int)
    sites: list[Site] = []
    for group in sym.equivalent_sites:
        s = group[0]
        b = s.properties.get("b_iso") if s.properties else None
        b = DEFAULT_B_ISO if b is None else float(b)
        xyz = tuple(float(v) for v in np.mod(s.frac_coords, 1.0))
        for sp, occ in s.species.items():
            el = sp.symbol
            counters[el] += 1
            sites.append(Site(f"{el}{counters[el]}", el, xyz, float(occ), b))
    phase = Phase(
        name=name,
        cell=cell,
        space_group=sg,
        sites=tuple(sites),
        provenance=f"converted from a pymatgen Structure ({structure.composition.formula})",
    )
    return assign_wyckoff(phase)


def to_ase(phase: Phase) -> ase.Atoms:
    """The unit cell of ``phase`` as ase.Atoms, occupancies the ASE-CIF way."""
    import ase

    atoms = phase.atoms
    symbols, positions, kinds, b_iso = [], [], [], []
    occ_info: dict[str, dict[str, float]] = {}
    kind_of: dict[tuple[int, ...], int] = {}
    for p, members in _positions(phase):
        key = tuple(sorted({int(atoms.site_index[i]) for i in members}))
        kind = kind_of.setdefault(key, len(kind_of))
        occ: dict[str, float] = defaultdict(float)
        for i in members:
            occ[atoms.elements[i]] += float(atoms.occupancy[i])
        occ_info[str(kind)] = dict(occ)
        symbols.append(max(occ, key=occ.__getitem__))
        positions.append(p)
        kinds.append(kind)
        b_iso.append(float(np.mean(atoms.b_iso[members])))
    out = ase.Atoms(
        symbols=symbols,
        scaled_positions=np.array(positions),
        cell=phase.cell.matrix,
        pbc=True,
    )
    out.arrays["spacegroup_kinds"] = np.array(kinds, dtype=int)
    out.arrays["b_iso"] = np.array(b_iso)
    out.info["occupancy"] = occ_info
    out.info["spacegroup_number"] = phase.space_group.number
    out.info["name"] = phase.name
    return out


def from_ase(atoms: ase.Atoms, name: str, symprec: float = 1e-3) -> Phase:
    """A Phase from ase.Atoms (occupancies read the ASE-CIF way), via :func:`from_pymatgen`."""
    from pymatgen.core import Lattice, Structure

    kinds = atoms.arrays.get("spacegroup_kinds")
    occ_info = atoms.info.get("occupancy")
    species = []
    for i, sym in enumerate(atoms.get_chemical_symbols()):
        if occ_info is not None and kinds is not None and str(kinds[i]) in occ_info:
            species.append({el: float(o) for el, o in occ_info[str(kinds[i])].items()})
        else:
            species.append({sym: 1.0})
    props = {}
    if "b_iso" in atoms.arrays:
        props["b_iso"] = [float(b) for b in atoms.arrays["b_iso"]]
    structure = Structure(
        Lattice(np.asarray(atoms.cell)),
        species,
        atoms.get_scaled_positions(wrap=True),
        site_properties=props or None,
    )
    return from_pymatgen(structure, name, symprec=symprec)
