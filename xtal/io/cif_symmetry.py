"""Cell and space group of a CIF data block, checked against each other.

Conventions and rules
---------------------
* Numbers are parsed by :func:`parse_number` (CIF 1.1 numbers with esds, no
  backtracking, overflow refused) and range-checked before anything else sees them:
  cell lengths 0.5–2000 Å, angles in (0°, 180°) forming a real cell (see
  :class:`~xtal.crystal.cell.Cell`), IT numbers 1–230.
* Space group: the symmetry-operator loop wins; a declared H-M symbol, Hall symbol or
  IT number must agree with it.  Without operators the symbol, Hall symbol or number is
  looked up in gemmi's tables (International Tables settings).
* The cell must fit the group: its metric tensor invariant under the point group
  (:meth:`~xtal.crystal.spacegroup.SpaceGroup.metric_misfit`, tolerance
  :data:`~xtal.crystal.spacegroup.METRIC_TOLERANCE`).  A cell that contradicts its
  group (γ = 90° in a hexagonal group, a ≠ b in a cubic one) is refused; one that
  fits within the tolerance is made exactly invariant (with a note when that changes a
  printed digit).
* An angle given as ``?`` (or absent) is set from the symmetry when the symmetry fixes
  it (γ = 120° in a hexagonal group, 90° where the axes must be perpendicular), with a
  note; an angle the symmetry leaves free must be given.
* Rhombohedral groups named only by symbol or number (``R -3 m``, 166): gemmi's
  default is the hexagonal setting (``R -3 m:H``); a cell with rhombohedral metric
  (a = b = c, α = β = γ ≠ 90°) gets the rhombohedral setting (``R -3 m:R``) with a
  note, and a cell that fits neither is refused with both settings named.
"""

from __future__ import annotations

import itertools
import re

import gemmi
import numpy as np

from xtal.crystal.cell import Cell
from xtal.crystal.spacegroup import SpaceGroup
from xtal.errors import InputError

LENGTH_RANGE = (0.5, 2000.0)  # Å
ANGLES = ("alpha", "beta", "gamma")
_SYMBOL = {"alpha": "α", "beta": "β", "gamma": "γ", "a": "a", "b": "b", "c": "c"}
_CANDIDATES = (90.0, 120.0, 60.0)  # values symmetry can fix an angle to

_NUMBER = re.compile(r"([+-]?+(?:\d++\.?+\d*+|\.\d++))(?:[eE]([+-]?+\d{1,6}+))?+"
                     r"(?:\((\d{1,9}+)\))?+")
SYMOP_TAGS = ("_space_group_symop_operation_xyz", "_symmetry_equiv_pos_as_xyz",
              "_space_group_symop.operation_xyz")
HM_TAGS = ("_space_group_name_H-M_alt", "_symmetry_space_group_name_H-M",
           "_space_group.name_H-M_alt")
HALL_TAGS = ("_space_group_name_Hall", "_symmetry_space_group_name_Hall")
NUMBER_TAGS = ("_space_group_IT_number", "_symmetry_Int_Tables_number",
               "_space_group.IT_number")


def parse_number(text: str | None) -> tuple[float | None, float | None]:
    """Value and esd of a CIF number, e.g. ``'3.901(1)'`` → (3.901, 0.001).

    ``'?'``, ``'.'`` and None give (None, None).  Text that is not a number, or a
    number beyond the floating-point range (``8.48e400``), raises ValueError.  The esd
    applies to the last digit of the mantissa (CIF 1.1 §2.2.7.4.6).  Linear in the
    length of the text (no backtracking).
    """
    if text is None:
        return None, None
    s = gemmi.cif.as_string(text).strip()
    if s in ("", "?", "."):
        return None, None
    m = _NUMBER.fullmatch(s) if len(s) <= 64 else None
    if not m:
        raise ValueError(f"'{s[:30]}' is not a number")
    mant, exp, esd = m.groups()
    value = float(f"{mant}e{exp or 0}")
    if not np.isfinite(value):
        raise ValueError(f"'{s[:30]}' is beyond the range of numbers")
    if esd is None:
        return value, None
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    e = float(f"{esd}e{int(exp or 0) - decimals}")
    return value, e if np.isfinite(e) else None


def text_value(block: gemmi.cif.Block, tag: str) -> str | None:
    """The value of ``tag`` as one line of text; None when absent, empty, ``?`` or ``.``."""
    v = block.find_value(tag)
    if v is None:
        return None
    s = " ".join(gemmi.cif.as_string(v).split())
    return None if s in ("", "?", ".") else s


def _number(block: gemmi.cif.Block, tag: str) -> tuple[float | None, float | None]:
    try:
        return parse_number(block.find_value(tag))
    except ValueError as exc:
        raise InputError(f"cell ({tag}): {exc}") from None


# -- cell ------------------------------------------------------------------------------------
def read_cell_values(block: gemmi.cif.Block, esd: dict[str, float]
                     ) -> tuple[dict[str, float], list[str]]:
    """Lattice parameters of the block (range-checked) and the angles it does not give."""
    values: dict[str, float] = {}
    missing: list[str] = []
    lo, hi = LENGTH_RANGE
    for key in ("a", "b", "c", *ANGLES):
        tag = f"_cell_{'length' if key in 'abc' else 'angle'}_{key}"
        v, e = _number(block, tag)
        if v is None:
            if key in "abc":
                raise InputError(f"no cell: {tag} is missing in data block '{block.name[:40]}'")
            missing.append(key)
            continue
        if key in "abc" and not lo <= v <= hi:
            raise InputError(f"cell length {key} = {v:.6g} Å ({tag}) is outside {lo:g}–{hi:g} Å")
        if key in ANGLES and not 0 < v < 180:
            raise InputError(f"cell angle {_SYMBOL[key]} = {v:.6g}° ({tag}) is outside "
                             "(0°, 180°)")
        values[key] = v
        if e:
            esd[f"cell.{key}"] = e
    return values, missing


def fit_cell(values: dict[str, float], missing: list[str], sg: SpaceGroup, ops_given: bool,
             notes: list[str]) -> tuple[Cell, SpaceGroup]:
    """The cell and group of a block, checked and completed (module docstring).

    Raises
    ------
    InputError
        The cell contradicts the group (in every setting tried), or an angle is
        missing that the group does not fix.
    """
    settings = [sg]
    if sg.is_rhombohedral and not ops_given:
        base = sg.symbol.split(":")[0]
        settings = [SpaceGroup.from_symbol(f"{base}:H"), SpaceGroup.from_symbol(f"{base}:R")]
    failures = []
    for cand in settings:
        cell, why = _fit(values, missing, cand)
        if cell is None:
            failures.append(why)
            continue
        if cand is not sg and cand.symbol != sg.symbol:
            notes.append(f"the cell has rhombohedral axes (a = b = c, α = β = γ): space group "
                         f"{cand.symbol} used, not {settings[0].symbol}")
        exact = cand.symmetrized_cell(cell)
        if not np.allclose(exact.parameters, cell.parameters, rtol=1e-9, atol=0):
            notes.append("cell made exact for the symmetry: " + _changes(cell, exact))
            cell = exact
        for key in missing:
            notes.append(f"cell angle {_SYMBOL[key]} not given: {getattr(cell, key):.6g}° from "
                         f"the symmetry of {cand.symbol}")
        return cell, cand
    if sg.is_rhombohedral:
        base = sg.symbol.split(":")[0]
        raise InputError(f"the cell fits neither {base}:H (hexagonal axes: a = b, γ = 120°) "
                         f"nor {base}:R (rhombohedral axes: a = b = c, α = β = γ)"
                         + (" with the operators given" if ops_given else "")
                         + f"; {failures[0]}")
    raise InputError(failures[0])


def _fit(values: dict[str, float], missing: list[str], sg: SpaceGroup
         ) -> tuple[Cell | None, str]:
    """A cell of ``values`` (missing angles from the symmetry) that fits ``sg``, or why not."""
    fitting = []
    for combo in itertools.product(_CANDIDATES, repeat=len(missing)):
        cell = _cell({**values, **dict(zip(missing, combo, strict=True))})
        if cell is not None and sg.fits(cell):
            fitting.append(cell)
    if not fitting:
        given = " ".join(f"{_SYMBOL[k]}={values[k]:.6g}" for k in ("a", "b", "c", *ANGLES)
                         if k in values)
        if missing:
            lost = ", ".join(_SYMBOL[k] for k in missing)
            return None, (f"cell angle(s) {lost} not given and the symmetry of {sg.symbol} does "
                          f"not fix them for the cell {given}")
        cell = Cell(**values)  # an impossible cell raises its own InputError here
        near = " ".join(f"{_SYMBOL[k]}={v:.6g}" for k, v in
                        zip(("a", "b", "c", *ANGLES), sg.symmetrized_cell(cell).parameters,
                            strict=True))
        return None, (f"cell {given} contradicts the {sg.crystal_system} symmetry of "
                      f"{sg.symbol} (the nearest cell of that symmetry is {near})")
    cell = fitting[0]
    for key in missing:  # an angle the symmetry leaves free cannot be guessed
        moved = _cell({**dict(zip(("a", "b", "c", *ANGLES), cell.parameters, strict=True)),
                       key: getattr(cell, key) + 7.0})
        if moved is not None and sg.fits(moved):
            return None, (f"cell angle {_SYMBOL[key]} (_cell_angle_{key}) is not given and the "
                          f"symmetry of {sg.symbol} does not fix it")
    return cell, ""


def _cell(values: dict[str, float]) -> Cell | None:
    try:
        return Cell(**values)
    except InputError:
        return None


def _changes(cell: Cell, exact: Cell) -> str:
    names = ("a", "b", "c", *ANGLES)
    parts = [f"{_SYMBOL[n]} {u:.6g} → {v:.6g}" for n, u, v in
             zip(names, cell.parameters, exact.parameters, strict=True)
             if abs(u - v) > 1e-9 * max(abs(u), 1.0)]
    return ", ".join(parts)


# -- space group -----------------------------------------------------------------------------
def read_space_group(block: gemmi.cif.Block, notes: list[str]) -> tuple[SpaceGroup, bool]:
    """The block's space group and whether it came from an operator loop."""
    hm = next((v for t in HM_TAGS if (v := text_value(block, t))), None)
    hall = next((v for t in HALL_TAGS if (v := text_value(block, t))), None)
    num_text = next((v for t in NUMBER_TAGS if (v := text_value(block, t))), None)
    number = None
    if num_text is not None:
        if not (num_text.isdigit() and len(num_text) <= 3 and 1 <= int(num_text) <= 230):
            raise InputError(f"space-group number '{num_text[:20]}' is not an integer 1–230")
        number = int(num_text)
    ops = None
    for tag in SYMOP_TAGS:
        col = block.find_values(tag)
        if len(col):
            if len(col) > 1000:
                raise InputError(f"{len(col)} symmetry operators ({tag}); a space group has "
                                 "at most 192")
            ops = [gemmi.cif.as_string(v).strip() for v in col]
            break
    if ops is None:
        declared = _declared_group(hm, hall, number)
        if declared is None:
            raise InputError("unknown space group: no symmetry operators, H-M symbol or "
                             "IT number")
        if number is not None and number != declared.number:
            raise InputError(f"space-group symbol {hm} (No. {declared.number}) disagrees with "
                             f"IT number {number}")
        return declared, False
    try:
        declared = _declared_group(hm, hall, number)
    except InputError as err:  # the operators define the group; a bad symbol is a remark
        notes.append(f"declared space group ignored: {err.message}")
        declared, hm = None, None
    try:
        sg = SpaceGroup.from_operations(ops, symbol=hm if not _setting_free(hm) else None)
    except InputError as err:
        raise InputError(f"broken symmetry operators: {err.message}") from None
    if declared is not None and declared.number != sg.number:
        raise InputError(f"declared space group {hm or hall or number} (No. {declared.number}) "
                         f"disagrees with the symmetry operators (No. {sg.number})")
    if number is not None and number != sg.number:
        raise InputError(f"declared IT number {number} disagrees with the symmetry operators "
                         f"(No. {sg.number})")
    return sg, True


def _setting_free(hm: str | None) -> bool:
    """An R symbol without ``:H``/``:R``: the operators decide, so the name comes from them."""
    return bool(hm) and hm.strip().upper().startswith("R") and ":" not in hm


def _declared_group(hm: str | None, hall: str | None, number: int | None) -> SpaceGroup | None:
    if hm:
        return SpaceGroup.from_symbol(hm)  # unknown symbol → InputError
    if hall:
        try:
            ops = gemmi.symops_from_hall(hall[:80])
        except (RuntimeError, ValueError):
            raise InputError(f"unknown space group: Hall symbol '{hall[:40]}'") from None
        return SpaceGroup.from_operations([op.triplet() for op in ops])
    if number is not None:
        return SpaceGroup.from_number(number)
    return None
