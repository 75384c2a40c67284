"""Space groups: symmetry operations, crystal system, Laue class, site symmetry.

Operations are kept as Seitz pairs (R, t) acting on fractional coordinates,
x' = R x + t, with *every* operation of the conventional cell listed (centring
translations included), as in the ``_space_group_symop_operation_xyz`` loop of a
CIF.  Symbols and operation lists are parsed by gemmi (its tables follow
International Tables Vol. A).  A reciprocal-lattice vector h (row) maps to h R.
Rhombohedral groups carry their setting in the symbol (``R -3 m:H``, ``R -3 m:R``).

Cell and symmetry: a cell fits a group when its metric tensor G is invariant under
every rotation of the point group, Rᵀ G R = G (IT Vol. A, §1.3.2; distances are
preserved by the operations).  :meth:`SpaceGroup.metric_misfit` measures the largest
departure relative to √(G_ii G_jj); :data:`METRIC_TOLERANCE` (2·10⁻³: about 0.1 % in a
length, 0.1° in an angle) separates rounding in published cells from a cell that
contradicts its group (γ = 90° in a hexagonal group, a ≠ b in a cubic one).
:meth:`SpaceGroup.symmetrized_cell` returns the nearest exactly invariant cell
(the group average of Rᵀ G R).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

import gemmi
import numpy as np

from xtal.crystal.cell import Cell
from xtal.errors import InputError
from xtal.util.arrays import unique

#: Largest relative misfit of a cell's metric to its group that counts as rounding.
METRIC_TOLERANCE = 2e-3

CRYSTAL_SYSTEMS = (
    (2, "triclinic"),
    (15, "monoclinic"),
    (74, "orthorhombic"),
    (142, "tetragonal"),
    (167, "trigonal"),
    (194, "hexagonal"),
    (230, "cubic"),
)


def crystal_system_of(number: int) -> str:
    """Crystal system of space-group number 1–230 (IT Vol. A, Table 2.1.2.1)."""
    for top, name in CRYSTAL_SYSTEMS:
        if number <= top:
            return name
    raise InputError(f"space-group number {number} is not in 1–230")


@dataclass(frozen=True)
class SpaceGroup:
    """A space group given by its full list of operations.

    Two space groups are equal when symbol, number and operations (in order) are.
    Pickling keeps only those three: gemmi's objects do not pickle and are rebuilt
    from the triplets when first needed.

    Attributes
    ----------
    symbol
        Hermann–Mauguin symbol as declared (e.g. ``'P 3'``).
    number
        International Tables number (1–230).
    operations
        xyz triplets of all operations of the conventional cell.
    """

    symbol: str
    number: int
    operations: tuple[str, ...]
    _ops: gemmi.GroupOps = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    # -- construction -----------------------------------------------------------------
    @classmethod
    def from_symbol(cls, symbol: str) -> SpaceGroup:
        """Look up a Hermann–Mauguin symbol (or IT number as a string) in gemmi's tables."""
        sg = gemmi.find_spacegroup_by_name(symbol.strip()) if len(symbol) < 60 else None
        if sg is None:
            raise InputError(f"unknown space-group symbol '{symbol[:60]}'")
        ops = sg.operations()
        return cls(_name(sg), sg.number, tuple(op.triplet() for op in ops), ops)

    @classmethod
    def from_number(cls, number: int) -> SpaceGroup:
        """Look up the standard setting of IT number ``number``."""
        if not 1 <= int(number) <= 230:
            raise InputError(f"space-group number {number} is not in 1–230")
        sg = gemmi.find_spacegroup_by_number(int(number))
        if sg is None:
            raise InputError(f"unknown space-group number {number}")
        ops = sg.operations()
        return cls(_name(sg), sg.number, tuple(op.triplet() for op in ops), ops)

    @classmethod
    def from_operations(
        cls, triplets: list[str] | tuple[str, ...], symbol: str | None = None
    ) -> SpaceGroup:
        """Build from xyz triplets (e.g. a CIF symop loop); the group must close."""
        try:
            gops = gemmi.GroupOps([gemmi.Op(t.replace(" ", "")) for t in triplets])
        except (RuntimeError, ValueError) as exc:
            first = " ".join(str(exc).split())[:120]
            raise InputError(f"cannot parse symmetry operator: {first}") from None
        if not triplets:
            raise InputError("no symmetry operators")
        # gemmi's find_spacegroup_by_ops identifies the group, including its setting
        sg = gemmi.find_spacegroup_by_ops(gops)
        if sg is None:
            raise InputError("symmetry operators do not form a space group")
        n_listed = len({gemmi.Op(t.replace(" ", "")).triplet() for t in triplets})
        if n_listed != len(gops):
            raise InputError(
                f"symmetry operators do not form a closed group "
                f"({n_listed} listed, {len(gops)} after closure)"
            )
        return cls(symbol or _name(sg), sg.number, tuple(op.triplet() for op in gops), gops)

    def __reduce__(self) -> tuple[type[SpaceGroup], tuple[str, int, tuple[str, ...]]]:
        # the gemmi GroupOps (and cached arrays) are rebuilt on demand after unpickling
        return (SpaceGroup, (self.symbol, self.number, self.operations))

    # -- derived ----------------------------------------------------------------------
    @cached_property
    def group_ops(self) -> gemmi.GroupOps:
        """gemmi's view of the operations."""
        if self._ops is not None:
            return self._ops
        return gemmi.GroupOps([gemmi.Op(t) for t in self.operations])

    @cached_property
    def rotations(self) -> np.ndarray:
        """Rotation parts R, shape (n, 3, 3), integers."""
        return np.array(
            [np.array(gemmi.Op(t).rot) // gemmi.Op.DEN for t in self.operations], dtype=int
        )

    @cached_property
    def translations(self) -> np.ndarray:
        """Translation parts t, shape (n, 3), fractions in [0, 1)."""
        return np.array([np.array(gemmi.Op(t).tran) / gemmi.Op.DEN for t in self.operations]) % 1.0

    @property
    def crystal_system(self) -> str:
        """Crystal system from the IT number."""
        return crystal_system_of(self.number)

    @property
    def order(self) -> int:
        """Number of operations in the conventional cell (centring included)."""
        return len(self.operations)

    @cached_property
    def point_group_rotations(self) -> np.ndarray:
        """Distinct rotation matrices (the point group), shape (k, 3, 3)."""
        return _unique_matrices(self.rotations)

    @cached_property
    def is_centrosymmetric(self) -> bool:
        """True if −1 is in the point group."""
        return bool(any((r == -np.eye(3, dtype=int)).all() for r in self.point_group_rotations))

    @cached_property
    def laue_rotations(self) -> np.ndarray:
        """Rotations of the Laue group (point group × {1, −1})."""
        return _unique_matrices(
            np.concatenate([self.point_group_rotations, -self.point_group_rotations])
        )

    @property
    def hm_compact(self) -> str:
        """Hermann–Mauguin symbol without spaces (e.g. ``P3``, ``Fm-3m``)."""
        return self.symbol.replace(" ", "")

    @property
    def is_rhombohedral(self) -> bool:
        """True for the seven R groups (146, 148, 155, 160, 161, 166, 167)."""
        return self.number in (146, 148, 155, 160, 161, 166, 167)

    def metric_misfit(self, cell: Cell) -> float:
        """Largest |Rᵀ G R − G|_ij / √(G_ii G_jj) over the point group (module docstring)."""
        g = cell.metric
        norm = np.sqrt(np.outer(np.diag(g), np.diag(g)))
        r = self.point_group_rotations.astype(float)
        d = np.einsum("kji,jl,klm->kim", r, g, r) - g
        return float(np.max(np.abs(d) / norm))

    def fits(self, cell: Cell) -> bool:
        """True if the cell's metric is invariant under the group within the tolerance."""
        return self.metric_misfit(cell) <= METRIC_TOLERANCE

    def symmetrized_cell(self, cell: Cell) -> Cell:
        """The cell whose metric is the group average of Rᵀ G R (exactly invariant)."""
        r = self.point_group_rotations.astype(float)
        g = np.einsum("kji,jl,klm->im", r, cell.metric, r) / len(r)
        a, b, c = np.sqrt(np.diag(g))
        ang = np.degrees(np.arccos(np.clip([g[1, 2] / (b * c), g[0, 2] / (a * c),
                                            g[0, 1] / (a * b)], -1.0, 1.0)))
        return Cell(float(a), float(b), float(c), *(float(v) for v in ang))

    def site_stabilizer(self, frac: np.ndarray, tol: float = 1e-4) -> np.ndarray:
        """Indices of the operations that map ``frac`` onto itself modulo lattice translations."""
        x = np.asarray(frac, dtype=float)
        images = np.einsum("nij,j->ni", self.rotations, x) + self.translations
        diff = images - x
        diff -= np.round(diff)
        return np.nonzero(np.all(np.abs(diff) < tol, axis=1))[0]

    def multiplicity(self, frac: np.ndarray, tol: float = 1e-4) -> int:
        """Number of equivalent positions in the conventional cell."""
        return self.order // len(self.site_stabilizer(frac, tol))


def seitz_triplet(rot: np.ndarray, tr: np.ndarray) -> str:
    """xyz triplet of a Seitz pair, translations as fractions of 12ths (e.g. 'x,-y+1/2,z')."""
    parts = []
    for row, t in zip(np.rint(rot).astype(int), tr, strict=True):
        s = ""
        for c, ax in zip(row, "xyz", strict=True):
            if c:
                s += ("+" if c > 0 and s else "-" if c < 0 else "") + (
                    ax if abs(c) == 1 else f"{abs(c)}{ax}"
                )
        f = Fraction(float(t) % 1.0).limit_denominator(12)
        if f % 1:
            s += f"+{f % 1}"
        parts.append(s or "0")
    return ",".join(parts)


def _name(sg: gemmi.SpaceGroup) -> str:
    """H-M symbol, with the setting for rhombohedral groups (``R -3 m:H``)."""
    return sg.xhm() if sg.ext in ("H", "R") else sg.hm


def _unique_matrices(mats: np.ndarray) -> np.ndarray:
    flat = unique(np.asarray(mats, dtype=int).reshape(len(mats), 9), axis=0)
    return flat.reshape(-1, 3, 3)
