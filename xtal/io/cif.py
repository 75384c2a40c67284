"""Read crystal structures from CIF files (CIF 1.1 core dictionary names).

Conventions
-----------
* Parsing by gemmi.cif (syntax only); the meaning of the items follows the CIF
  core dictionary (IUCr, cif_core.dic 2.4).
* Space group: the symmetry-operator loop (``_space_group_symop_operation_xyz`` or
  the older ``_symmetry_equiv_pos_as_xyz``) wins; a declared H-M symbol or IT number
  must agree with it.  Without operators the H-M symbol, Hall symbol or IT number is
  looked up in gemmi's International Tables data.
* Numbers with standard uncertainties, ``3.901(1)``: the value is kept and the esd is
  stored in ``Phase.extra['esd']`` keyed by dot-path (``'cell.a'``, ``'sites.Na1.z'``,
  ``'sites.Na1.occ'``, ``'sites.Na1.b_iso'``).
* ADPs: ``_atom_site_B_iso_or_equiv`` or B = 8π²U from ``_atom_site_U_iso_or_equiv``
  (IT Vol. C §8.7.4).  Anisotropic ``_atom_site_aniso_U_ij`` (or ``B_ij`` = 8π²U_ij)
  go to ``Site.u_aniso`` with ``b_iso`` = B_eq = 8π²U_eq, U_eq = ⅓ Σ_ij U_ij a*_i a*_j a_i·a_j
  (Fischer & Tillmanns, Acta Cryst. C44, 775, 1988).  **A site without any ADP gets
  B = 1.0 Å²** (noted in ``Phase.extra['notes']``); occupancy defaults to 1.
* Coordinates within 0.01 Å of a special position are moved onto it (0.6667 → 2/3)
  so that symmetry images coincide exactly.
* Every problem raises :class:`xtal.errors.InputError` naming the file, on one line.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import gemmi
import numpy as np

from xtal.crystal.cell import Cell
from xtal.crystal.phase import EIGHT_PI2, Phase, Site
from xtal.crystal.spacegroup import SpaceGroup
from xtal.crystal.wyckoff import snap_to_special_position, wyckoff_sites
from xtal.errors import InputError

DEFAULT_B_ISO = 1.0  # Å², used when a site has no ADP

_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+))?(?:\((\d+)\))?$")
_SYMOP_TAGS = (
    "_space_group_symop_operation_xyz",
    "_symmetry_equiv_pos_as_xyz",
    "_space_group_symop.operation_xyz",
)
_HM_TAGS = (
    "_space_group_name_H-M_alt",
    "_symmetry_space_group_name_H-M",
    "_space_group.name_H-M_alt",
)
_HALL_TAGS = ("_space_group_name_Hall", "_symmetry_space_group_name_Hall")
_NUMBER_TAGS = ("_space_group_IT_number", "_symmetry_Int_Tables_number", "_space_group.IT_number")
_PROVENANCE_TAGS = (
    "_chemical_name_common",
    "_chemical_name_systematic",
    "_chemical_name_mineral",
    "_pd_phase_name",
    "_publ_section_title",
    "_journal_name_full",
    "_journal_volume",
    "_journal_year",
    "_journal_page_first",
    "_journal_DOI",
    "_database_code_ICSD",
    "_database_code_COD",
)
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+\-]*$")


def parse_number(text: str | None) -> tuple[float | None, float | None]:
    """Value and esd of a CIF number, e.g. ``'3.901(1)'`` → (3.901, 0.001).

    ``'?'``, ``'.'`` and None give (None, None); text that is not a number raises
    ValueError.  The esd applies to the last digit of the mantissa (CIF 1.1 §2.2.7.4.6).
    """
    if text is None:
        return None, None
    s = gemmi.cif.as_string(text).strip()
    if s in ("", "?", "."):
        return None, None
    m = _NUMBER.match(s)
    if not m:
        raise ValueError(f"'{s}' is not a number")
    mant, exp, esd = m.groups()
    scale = 10.0 ** int(exp) if exp else 1.0
    value = float(mant) * scale
    if esd is None:
        return value, None
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return value, int(esd) * 10.0**-decimals * scale


def read_cif(path: str | os.PathLike[str], name: str | None = None) -> Phase:
    """Read the first structure of a CIF file.

    Parameters
    ----------
    path
        CIF file.
    name
        Phase name; default: the data-block name (or ``_pd_phase_name``, or the file
        stem) when it is usable in a dot-path.

    Returns
    -------
    Phase
        With Wyckoff letters (given or computed), multiplicities, provenance and esds.
    """
    p, doc = _open(path)
    for block in doc:
        if _has_structure(block):
            return _phase_from_block(p, block, name)
    raise InputError(_no_structure_message(doc), p)


def read_cifs(path: str | os.PathLike[str]) -> list[Phase]:
    """Read every structure (data block with a cell or atom sites) of a CIF file."""
    p, doc = _open(path)
    phases = [_phase_from_block(p, b, None) for b in doc if _has_structure(b)]
    if not phases:
        raise InputError(_no_structure_message(doc), p)
    return phases


# -- file level ----------------------------------------------------------------------------
def _open(path: str | os.PathLike[str]) -> tuple[Path, gemmi.cif.Document]:
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", p)
    try:
        doc = gemmi.cif.read_file(str(p))
    except (RuntimeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise InputError(f"not a readable CIF ({first})", p) from None
    if len(doc) == 0:
        raise InputError("not a CIF: no data block (data_...)", p)
    return p, doc


def _has_structure(block: gemmi.cif.Block) -> bool:
    return bool(block.find_value("_cell_length_a") or block.find_loop("_atom_site_fract_x"))


def _no_structure_message(doc: gemmi.cif.Document) -> str:
    return f"no structure in {len(doc)} data block(s): no cell (_cell_length_a) and no atom sites"


def _leading_comments(path: Path) -> list[str]:
    lines = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            s = raw.strip()
            if not s:
                continue
            if not s.startswith("#"):
                break
            text = s.strip("#").strip()
            if text and not set(text) <= set("#=-*_ "):
                lines.append(text)
    return lines


# -- block level ---------------------------------------------------------------------------
def _phase_from_block(path: Path, block: gemmi.cif.Block, name: str | None) -> Phase:
    try:
        return _build_phase(path, block, name)
    except InputError as err:
        if err.path is None:
            raise InputError(err.message, path) from None
        raise


def _build_phase(path: Path, block: gemmi.cif.Block, name: str | None) -> Phase:
    esd: dict[str, float] = {}
    notes: list[str] = []
    cell = _read_cell(block, esd)
    sg = _read_space_group(block, notes)
    sites = _read_sites(block, cell, sg, esd, notes)
    provenance = _leading_comments(path)
    for tag in _PROVENANCE_TAGS:
        v = _value(block, tag)
        if v:
            provenance.append(f"{tag[1:]}: {v}")
    phase = Phase(
        name=name or _phase_name(block, path),
        cell=cell,
        space_group=sg,
        sites=tuple(sites),
        provenance="\n".join(provenance),
        source=str(path),
        extra={"esd": esd, "notes": notes, "data_block": block.name},
    )
    computed = wyckoff_sites(phase)
    for s, w in zip(phase.sites, computed, strict=True):
        if s.wyckoff and w.letter and s.wyckoff != w.letter:
            notes.append(f"site {s.label}: Wyckoff letter {s.wyckoff} given, {w.letter} computed")
    return phase.with_sites(
        [
            replace(
                s,
                wyckoff=s.wyckoff or w.letter,
                multiplicity=w.multiplicity,
                site_symmetry=w.site_symmetry,
            )
            for s, w in zip(phase.sites, computed, strict=True)
        ]
    )


def _value(block: gemmi.cif.Block, tag: str) -> str | None:
    v = block.find_value(tag)
    if v is None:
        return None
    s = " ".join(gemmi.cif.as_string(v).split())
    return None if s in ("", "?", ".") else s


def _phase_name(block: gemmi.cif.Block, path: Path) -> str:
    for cand in (block.name, _value(block, "_pd_phase_name"), path.stem):
        if cand and _NAME_OK.match(cand) and cand.lower() != "global":
            return cand
    return re.sub(r"[^A-Za-z0-9_+\-]", "_", path.stem) or "phase"


def _number(block: gemmi.cif.Block, tag: str, what: str) -> tuple[float | None, float | None]:
    try:
        return parse_number(block.find_value(tag))
    except ValueError as exc:
        raise InputError(f"{what} ({tag}): {exc}") from None


def _read_cell(block: gemmi.cif.Block, esd: dict[str, float]) -> Cell:
    values = {}
    for key, tag, default in (
        ("a", "_cell_length_a", None),
        ("b", "_cell_length_b", None),
        ("c", "_cell_length_c", None),
        ("alpha", "_cell_angle_alpha", 90.0),
        ("beta", "_cell_angle_beta", 90.0),
        ("gamma", "_cell_angle_gamma", 90.0),
    ):
        v, e = _number(block, tag, "cell")
        if v is None:
            if default is None:
                raise InputError(f"no cell: {tag} is missing in data block '{block.name}'")
            v = default
        values[key] = v
        if e:
            esd[f"cell.{key}"] = e
    return Cell(**values)


def _read_space_group(block: gemmi.cif.Block, notes: list[str]) -> SpaceGroup:
    hm = next((v for t in _HM_TAGS if (v := _value(block, t))), None)
    hall = next((v for t in _HALL_TAGS if (v := _value(block, t))), None)
    num_text = next((v for t in _NUMBER_TAGS if (v := _value(block, t))), None)
    number = None
    if num_text is not None:
        try:
            number = int(float(num_text))
        except ValueError:
            raise InputError(f"space-group number '{num_text}' is not a number") from None
    ops = None
    for tag in _SYMOP_TAGS:
        col = block.find_values(tag)
        if len(col):
            ops = [gemmi.cif.as_string(v).strip() for v in col]
            break
    if ops is not None:
        try:
            declared = _declared_group(hm, hall, number)
        except InputError as err:  # the operators define the group; a bad symbol is a remark
            notes.append(f"declared space group ignored: {err.message}")
            declared, hm = None, None
        try:
            sg = SpaceGroup.from_operations(ops, symbol=hm)
        except InputError as err:
            raise InputError(f"broken symmetry operators: {err.message}") from None
        if declared is not None and declared.number != sg.number:
            raise InputError(
                f"declared space group {hm or hall or number} (No. {declared.number}) disagrees"
                f" with the symmetry operators (No. {sg.number})"
            )
        if number is not None and number != sg.number:
            raise InputError(
                f"declared IT number {number} disagrees with the symmetry operators"
                f" (No. {sg.number})"
            )
        return sg
    declared = _declared_group(hm, hall, number)
    if declared is None:
        raise InputError("unknown space group: no symmetry operators, H-M symbol or IT number")
    if number is not None and number != declared.number:
        raise InputError(
            f"space-group symbol {hm} (No. {declared.number}) disagrees with IT number {number}"
        )
    return declared


def _declared_group(hm: str | None, hall: str | None, number: int | None) -> SpaceGroup | None:
    if hm:
        return SpaceGroup.from_symbol(hm)  # unknown symbol → InputError
    if hall:
        try:
            ops = gemmi.symops_from_hall(hall)
        except (RuntimeError, ValueError):
            raise InputError(f"unknown space group: Hall symbol '{hall}'") from None
        return SpaceGroup.from_operations([op.triplet() for op in ops])
    if number is not None:
        return SpaceGroup.from_number(number)
    return None


@lru_cache(maxsize=1)
def _element_symbols() -> frozenset[str]:
    from xtal.crystal import elements as xraydb  # xraydb's values, cached

    return frozenset(xraydb.atomic_symbol(z) for z in range(1, 99))


def _element(type_symbol: str | None, label: str) -> str:
    """Bare element of a type symbol ('Na1+' → 'Na', 'nb' → 'Nb') or of a label ('O1' → 'O')."""
    known = _element_symbols()
    text = type_symbol if type_symbol else label
    m = re.match(r"[A-Za-z]{1,2}", text)
    letters = m.group(0) if m else ""
    cand = letters[:1].upper() + letters[1:].lower()
    if cand in known:
        return cand
    if not type_symbol and cand[:1] in known:  # label like 'OW1'
        return cand[:1]
    raise InputError(f"unknown element '{text}' at site {label}")


def _read_sites(
    block: gemmi.cif.Block, cell: Cell, sg: SpaceGroup, esd: dict[str, float], notes: list[str]
) -> list[Site]:
    table = block.find(
        "_atom_site_",
        [
            "label",
            "?type_symbol",
            "fract_x",
            "fract_y",
            "fract_z",
            "?occupancy",
            "?B_iso_or_equiv",
            "?U_iso_or_equiv",
            "?Wyckoff_symbol",
        ],
    )
    if len(table) == 0:
        raise InputError(
            f"no atom sites (_atom_site_label/_atom_site_fract_x/y/z) in '{block.name}'"
        )
    aniso = _read_aniso(block)
    sites = []
    for row in table:
        label = gemmi.cif.as_string(row[0]).strip()
        type_symbol = gemmi.cif.as_string(row[1]).strip() if row.has(1) else ""
        element = _element(type_symbol if type_symbol not in ("?", ".") else "", label)

        def num(i: int, key: str, row=row, label=label) -> float | None:
            if not row.has(i):
                return None
            try:
                v, e = parse_number(row[i])
            except ValueError as exc:
                raise InputError(f"site {label}: {exc}") from None
            if e:
                esd[f"sites.{label}.{key}"] = e
            return v

        xyz = []
        for i, axis in ((2, "x"), (3, "y"), (4, "z")):
            v = num(i, axis)
            if v is None:
                raise InputError(f"site {label}: fractional coordinate {axis} is missing")
            xyz.append(v)
        occ = num(5, "occ")
        occ = 1.0 if occ is None else occ
        if occ > 1.0 + 1e-4:
            raise InputError(f"site {label}: occupancy {occ} > 1")
        if occ <= 0.0:
            raise InputError(f"site {label}: occupancy {occ} ≤ 0")
        b = num(6, "b_iso")
        if b is None:
            u = num(7, "b_iso")
            if u is not None:
                b = EIGHT_PI2 * u
                if f"sites.{label}.b_iso" in esd:
                    esd[f"sites.{label}.b_iso"] *= EIGHT_PI2
        u_aniso = aniso.get(label)
        if u_aniso is not None:
            if min(u_aniso[:3]) < 0:
                raise InputError(f"site {label}: negative anisotropic ADP {u_aniso[:3]}")
            b = EIGHT_PI2 * _u_equivalent(cell, u_aniso)
        if b is None:
            b = DEFAULT_B_ISO
            notes.append(f"site {label}: no ADP given, B = {DEFAULT_B_ISO} Å² assumed")
        if b < 0:
            raise InputError(f"site {label}: negative ADP (B = {b:.4g} Å²)")
        wyck = gemmi.cif.as_string(row[8]).strip() if row.has(8) else ""
        wyck = re.sub(r"[^a-zA-Z]", "", wyck) if wyck not in ("?", ".") else ""
        snapped = snap_to_special_position(sg, cell, tuple(xyz))
        if np.max(np.abs(np.subtract(snapped, xyz))) > 1e-5:
            notes.append(f"site {label}: moved onto its special position {snapped}")
        sites.append(
            Site(
                label=label,
                element=element,
                xyz=snapped,
                occupancy=min(occ, 1.0),
                b_iso=b,
                u_aniso=u_aniso,
                wyckoff=wyck,
            )
        )
    return sites


def _read_aniso(block: gemmi.cif.Block) -> dict[str, tuple[float, ...]]:
    out: dict[str, tuple[float, ...]] = {}
    for kind, factor in (("U", 1.0), ("B", 1.0 / EIGHT_PI2)):
        cols = [f"{kind}_{ij}" for ij in ("11", "22", "33", "12", "13", "23")]
        table = block.find("_atom_site_aniso_", ["label", *cols])
        for row in table:
            label = gemmi.cif.as_string(row[0]).strip()
            try:
                vals = [parse_number(row[i])[0] for i in range(1, 7)]
            except ValueError as exc:
                raise InputError(f"site {label}: anisotropic ADP {exc}") from None
            if any(v is None for v in vals):
                continue
            out[label] = tuple(factor * v for v in vals)  # type: ignore[operator]
    return out


def _u_equivalent(cell: Cell, u: tuple[float, ...]) -> float:
    u11, u22, u33, u12, u13, u23 = u
    um = np.array([[u11, u12, u13], [u12, u22, u23], [u13, u23, u33]])
    astar = np.sqrt(np.diag(cell.reciprocal_metric))
    return float(np.einsum("ij,i,j,ij->", um, astar, astar, cell.metric) / 3.0)
