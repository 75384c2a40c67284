"""Space-group analysis: spglib over a ladder of tolerances, pseudo-symmetry, Z, densities.

Conventions
-----------
* spglib's ``symprec`` is a Cartesian distance in Å (Togo & Tanaka, spglib
  documentation, "Tolerance"); the cell is passed as lattice rows
  (:attr:`Cell.matrix`) with every atom of the unit cell (:attr:`Phase.atoms`).
* Atoms are typed by (element, occupancy), so a partially occupied site is never
  made equivalent to a full one or to a site of another occupancy (physics.md §8).
  Several sites on one position (a mixed site) form one composite type.
* "Higher" symmetry: spglib finds more operations in the given cell than the
  declared group has (pure translations of a smaller true cell count too).
* Mean atomic volume V_a = M / (d · n), M the formula mass (g/mol), d the
  density (g/cm³) and n the atoms per formula unit; the Na3BS3 paper
  (Mater. Adv. 2021, 2, 1676) gives 13.0 cm³/mol for the glass at 1.932 g/cm³.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import spglib

from xtal.crystal.phase import Phase

#: Default tolerance ladder (Å).
TOLERANCES: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.3)

# Positions closer than this (Å) are one crystallographic position (mixed sites).
_SAME_POSITION = 1e-3


@dataclass(frozen=True)
class SymmetryRung:
    """What spglib finds at one tolerance.

    Attributes
    ----------
    tolerance
        spglib ``symprec`` (Å).
    symbol, number, hall_number
        International symbol, IT number and Hall number (None if spglib failed).
    n_operations
        Operations found in the given cell (pure translations included).
    wyckoffs
        Wyckoff letter of each site (by label) in spglib's standard setting.
    higher
        True if the group has more operations than the declared one.
    """

    tolerance: float
    symbol: str | None
    number: int | None
    hall_number: int | None
    n_operations: int
    wyckoffs: dict[str, str]
    higher: bool


@dataclass(frozen=True)
class SymmetryReport:
    """Symmetry, composition and density summary of a phase (JSON-able via :meth:`to_dict`)."""

    phase: str
    declared_symbol: str
    declared_number: int
    declared_operations: int
    ladder: tuple[SymmetryRung, ...]
    pseudo_symmetry_tolerance: float | None
    pseudo_symmetry_symbol: str | None
    pseudo_symmetry_number: int | None
    atom_types: dict[str, int]
    formula: str
    formula_units: float
    density: float
    mean_atomic_volume: float
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        """Plain dict of JSON types."""
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text."""
        return json.dumps(self.to_dict(), indent=indent)


def spglib_cell(phase: Phase) -> tuple[tuple, dict[str, int], dict[str, int]]:
    """The (lattice, positions, numbers) triple spglib needs, typed by element and occupancy.

    Returns
    -------
    cell
        ``(phase.cell.matrix, frac, numbers)``, one entry per distinct position.
    types
        Type key (``'B:0.3333'`` or ``'Na'``; ``'+'``-joined for mixed sites) → number.
    first
        Index into the cell's positions of the first image of each site (by label).
    """
    at = phase.atoms
    matrix = phase.cell.matrix
    groups: list[list[int]] = []  # atom indices sharing a position
    owner = np.full(len(at), -1)
    for k in range(len(at)):
        for g, members in enumerate(groups):
            d = at.frac[members[0]] - at.frac[k]
            d -= np.round(d)
            if np.linalg.norm(d @ matrix) < _SAME_POSITION:
                members.append(k)
                owner[k] = g
                break
        else:
            owner[k] = len(groups)
            groups.append([k])
    types: dict[str, int] = {}
    numbers = []
    for members in groups:
        key = "+".join(sorted(_type_key(at.elements[k], float(at.occupancy[k])) for k in members))
        numbers.append(types.setdefault(key, len(types) + 1))
    frac = np.array([at.frac[m[0]] for m in groups])
    first = {}
    for k in range(len(at)):
        label = phase.sites[at.site_index[k]].label
        first.setdefault(label, int(owner[k]))
    return (matrix, frac, numbers), types, first


def _type_key(element: str, occupancy: float) -> str:
    return element if occupancy >= 1.0 - 1e-6 else f"{element}:{occupancy:.4f}"


def symmetry(phase: Phase, tolerances: tuple[float, ...] = TOLERANCES) -> SymmetryReport:
    """Space group of ``phase`` as declared and as found by spglib over ``tolerances``.

    Parameters
    ----------
    phase
        The structure; every atom of its cell is passed to spglib.
    tolerances
        spglib ``symprec`` values in Å, tried in increasing order.

    Returns
    -------
    SymmetryReport
        The ladder, the smallest tolerance with a group higher than declared
        (pseudo-symmetry; None if none), Z, density and mean atomic volume.
    """
    cell, types, first = spglib_cell(phase)
    declared_ops = phase.space_group.order
    ladder = []
    for tol in sorted(tolerances):
        with warnings.catch_warnings():  # spglib ≥ 2.5 warns about its legacy error mode
            warnings.simplefilter("ignore", DeprecationWarning)
            ds = spglib.get_symmetry_dataset(cell, symprec=float(tol))
        if ds is None:
            ladder.append(SymmetryRung(float(tol), None, None, None, 0, {}, False))
            continue
        n_ops = len(ds.rotations)
        ladder.append(
            SymmetryRung(
                tolerance=float(tol),
                symbol=str(ds.international),
                number=int(ds.number),
                hall_number=int(ds.hall_number),
                n_operations=n_ops,
                wyckoffs={lab: str(ds.wyckoffs[i]) for lab, i in first.items()},
                higher=n_ops > declared_ops,
            )
        )
    pseudo = next((r for r in ladder if r.higher), None)
    notes = []
    tight = ladder[0] if ladder else None
    if tight is not None and tight.number != phase.space_group.number:
        notes.append(
            f"at {tight.tolerance:g} Å spglib finds {tight.symbol} ({tight.number}), "
            f"not the declared {phase.space_group.hm_compact} ({phase.space_group.number})"
        )
    return SymmetryReport(
        phase=phase.name,
        declared_symbol=phase.space_group.hm_compact,
        declared_number=phase.space_group.number,
        declared_operations=declared_ops,
        ladder=tuple(ladder),
        pseudo_symmetry_tolerance=None if pseudo is None else pseudo.tolerance,
        pseudo_symmetry_symbol=None if pseudo is None else pseudo.symbol,
        pseudo_symmetry_number=None if pseudo is None else pseudo.number,
        atom_types=types,
        formula=phase.formula,
        formula_units=phase.formula_units,
        density=phase.density,
        mean_atomic_volume=mean_atomic_volume(phase),
        notes=tuple(notes),
    )


def mean_atomic_volume(phase: Phase, density: float | None = None) -> float:
    """Mean atomic volume M / (d · n) in cm³/mol.

    Parameters
    ----------
    phase
        Gives the formula (hence M, g/mol, and n, atoms per formula unit).
    density
        Density d in g/cm³; the crystallographic density of ``phase`` if None
        (give the measured one, e.g. 1.932 for the Na3BS3 glass, to compare with
        the paper's 13.0 cm³/mol).
    """
    formula, z = phase.formula_and_z
    d = phase.density if density is None else float(density)
    if not d > 0:
        from xtal.errors import InputError

        raise InputError(f"density must be positive (got {density})")
    molar_mass = phase.cell_mass / float(z)
    return molar_mass / (d * sum(formula.values()))
