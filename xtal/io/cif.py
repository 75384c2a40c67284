"""Read crystal structures from CIF files (CIF 1.1 core dictionary names).

Conventions
-----------
* Text: UTF-8 with or without a byte-order mark, UTF-16 (by its BOM or zero bytes),
  else Latin-1 (free text such as a journal name with "ü" is kept); files over
  :data:`MAX_CIF_BYTES` are refused.  Parsing by gemmi.cif (syntax only); the meaning
  of the items follows the CIF core dictionary (IUCr, cif_core.dic 2.4).
* Blocks: a file with one structure (a data block with a cell or atom sites) gives it;
  a file with several needs the block named, ``PATH#BLOCK`` or ``block=``, and the
  error lists them.
* Cell and space group: :mod:`xtal.io.cif_symmetry` (range checks, the cell checked
  against the group's metric, ``?`` angles from the symmetry, rhombohedral settings).
* Numbers with standard uncertainties, ``3.901(1)``: the value is kept and the esd is
  stored in ``Phase.extra['esd']`` keyed by dot-path (``'cell.a'``, ``'sites.Na1.z'``,
  ``'sites.Na1.occ'``, ``'sites.Na1.b_iso'``).  Numbers beyond the floating-point
  range are refused.
* Coordinates must lie within ±10 (fractional); occupancies in (0, 1].
* ADPs: ``_atom_site_B_iso_or_equiv`` or B = 8π²U from ``_atom_site_U_iso_or_equiv``
  (IT Vol. C §8.7.4).  Anisotropic ``_atom_site_aniso_U_ij`` (or ``B_ij`` = 8π²U_ij)
  go to ``Site.u_aniso`` with ``b_iso`` = B_eq = 8π²U_eq, U_eq = ⅓ Σ_ij U_ij a*_i a*_j a_i·a_j
  (Fischer & Tillmanns, Acta Cryst. C44, 775, 1988).  **A site without any ADP gets
  B = 1.0 Å²** (noted in ``Phase.extra['notes']``); occupancy defaults to 1.
  A slightly negative isotropic ADP (refined values such as Uiso −0.004 Å² are
  published; GSAS-II and VESTA load them) is read as B = 0 with a warning; below
  :data:`MIN_U_ISO` it is refused, as is Uiso above :data:`MAX_U_ISO`.
* Coordinates within 0.01 Å of a special position are moved onto it (0.6667 → 2/3)
  so that symmetry images coincide exactly.
* Names: the phase is named by ``name=``, else ``_pd_phase_name``, else the file name
  (never the data-block name, so that two files with the block ``data_2p10h`` do not
  clash).  A given name or ``_pd_phase_name``, and every site label, containing a
  character that breaks a parameter path (``.``, white space, ``* ? [ ] = , :``) is
  refused; a name taken from the file name has those characters replaced by ``_``.
* Warnings (unusual but usable input) go to ``Phase.extra['warnings']`` and are
  emitted as :class:`~xtal.errors.InputWarning`; remarks (what was completed or
  changed) go to ``Phase.extra['notes']``.
* Every problem raises :class:`xtal.errors.InputError` naming the file, on one line.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import gemmi
import numpy as np

from xtal.crystal.cell import Cell
from xtal.crystal.phase import EIGHT_PI2, Phase, Site, path_breaking, path_safe
from xtal.crystal.spacegroup import SpaceGroup
from xtal.crystal.wyckoff import snap_to_special_position, wyckoff_sites
from xtal.errors import InputError, InputWarning
from xtal.io.cif_symmetry import (
    fit_cell,
    parse_number,
    read_cell_values,
    read_space_group,
    text_value,
)
from xtal.util.files import read_bounded

DEFAULT_B_ISO = 1.0  # Å², used when a site has no ADP
MAX_CIF_BYTES = 64 * 2**20
MAX_SITES = 5000
MAX_ATOMS = 500_000  # sites × operations: beyond this the cell is not a crystal structure
MAX_COORDINATE = 10.0
MIN_U_ISO = -0.05  # Å²: below this a negative Uiso is an error, not a refined wobble
MAX_U_ISO = 1.0  # Å² (B ≈ 79 Å²)

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

__all__ = ["DEFAULT_B_ISO", "cif_blocks", "parse_number", "read_cif", "read_cifs", "split_block"]


def split_block(path: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """``'PATH#BLOCK'`` → (PATH, BLOCK); a path that exists as given → (path, None)."""
    p = Path(path)
    text = str(path)
    if p.exists() or "#" not in text:
        return p, None
    head, _, block = text.rpartition("#")
    return Path(head), block or None


def read_cif(path: str | os.PathLike[str], name: str | None = None,
             block: str | None = None) -> Phase:
    """Read the structure of a CIF file (or of one of its data blocks).

    Parameters
    ----------
    path
        CIF file, or ``PATH#BLOCK`` to choose a data block.
    name
        Phase name; default ``_pd_phase_name``, else the file name (module docstring).
    block
        Data block to read (case-insensitive); needed when the file holds several
        structures.

    Returns
    -------
    Phase
        With Wyckoff letters (given or computed), multiplicities, provenance, esds,
        notes and warnings.
    """
    p, from_path = split_block(path)
    block = block or from_path
    doc, text = _open(p)
    structures = [b for b in doc if _has_structure(b)]
    if block is not None:
        chosen = next((b for b in doc if b.name.lower() == block.lower()), None)
        if chosen is None:
            raise InputError(f"no data block '{block[:40]}' (blocks: {_listing(doc)})", p)
        if not _has_structure(chosen):
            raise InputError(f"data block '{chosen.name}' holds no structure (no cell and no "
                             f"atom sites); structures: {_listing(structures)}", p)
    elif not structures:
        raise InputError(_no_structure_message(doc), p)
    elif len(structures) > 1:
        raise InputError(f"holds {len(structures)} structures (blocks {_listing(structures)}); "
                         f"choose one as {p.name}#BLOCK", p)
    else:
        chosen = structures[0]
    return _phase_from_block(p, chosen, name, text)


def read_cifs(path: str | os.PathLike[str]) -> list[Phase]:
    """Read every structure (data block with a cell or atom sites) of a CIF file."""
    p, _ = split_block(path)
    doc, text = _open(p)
    phases = [_phase_from_block(p, b, None, text, several=True) for b in doc
              if _has_structure(b)]
    if not phases:
        raise InputError(_no_structure_message(doc), p)
    return phases


def cif_blocks(path: str | os.PathLike[str]) -> list[str]:
    """Names of the data blocks of a CIF file that hold a structure."""
    doc, _ = _open(split_block(path)[0])
    return [b.name for b in doc if _has_structure(b)]


# -- file level ----------------------------------------------------------------------------
def _open(p: Path) -> tuple[gemmi.cif.Document, str]:
    if not p.is_file():
        raise InputError("no such file", p)
    text = _decode(read_bounded(p, MAX_CIF_BYTES, "CIF"), p)
    try:
        doc = gemmi.cif.read_string(text)
    except (RuntimeError, ValueError, IndexError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        first = re.sub(r"^string:", "line ", first)
        raise InputError(f"not a readable CIF ({first[:200]})", p) from None
    if len(doc) == 0:
        raise InputError("not a CIF: no data block (data_...)", p)
    return doc, text


def _decode(raw: bytes, p: Path) -> str:
    """Text of a CIF: UTF-16 by BOM or zero bytes, UTF-8 (BOM dropped), else Latin-1."""
    from xtal.io.formats._common import FormatError, decode_text

    try:
        text = decode_text(raw)
    except FormatError as err:
        raise InputError(f"not a readable CIF ({err})", p) from None
    if "\0" in text:
        raise InputError("not a CIF: binary content (NUL bytes)", p)
    return text


def _has_structure(block: gemmi.cif.Block) -> bool:
    return bool(block.find_value("_cell_length_a") or block.find_loop("_atom_site_fract_x"))


def _listing(blocks: list[gemmi.cif.Block], limit: int = 6) -> str:
    names = [b.name[:30] for b in blocks]
    return ", ".join(names[:limit]) + (f", … ({len(names)} in all)" if len(names) > limit else "")


def _no_structure_message(doc: gemmi.cif.Document) -> str:
    return f"no structure in {len(doc)} data block(s): no cell (_cell_length_a) and no atom sites"


def _leading_comments(text: str) -> list[str]:
    lines = []
    for raw in text[:65536].splitlines():
        s = raw.strip()
        if not s:
            continue
        if not s.startswith("#"):
            break
        t = s.strip("#").strip()
        if t and not set(t) <= set("#=-*_ "):
            lines.append(t[:200])
    return lines


# -- block level ---------------------------------------------------------------------------
def _phase_from_block(path: Path, block: gemmi.cif.Block, name: str | None, text: str,
                      several: bool = False) -> Phase:
    try:
        phase, warned = _build_phase(path, block, name, text, several)
    except InputError as err:
        if err.path is None:
            raise InputError(err.message, path) from None
        raise
    for w in warned:
        warnings.warn(f"{path}: {w}", InputWarning, stacklevel=3)
    return phase


def _build_phase(path: Path, block: gemmi.cif.Block, name: str | None, text: str,
                 several: bool) -> tuple[Phase, list[str]]:
    esd: dict[str, float] = {}
    notes: list[str] = []
    warned: list[str] = []
    values, missing = read_cell_values(block, esd)
    sg, ops_given = read_space_group(block, notes)
    cell, sg = fit_cell(values, missing, sg, ops_given, notes)
    sites = _read_sites(block, cell, sg, esd, notes, warned)
    provenance = _leading_comments(text)
    for tag in _PROVENANCE_TAGS:
        v = text_value(block, tag)
        if v:
            provenance.append(f"{tag[1:]}: {v[:200]}")
    phase = Phase(
        name=_phase_name(block, path, name, several),
        cell=cell,
        space_group=sg,
        sites=tuple(sites),
        provenance="\n".join(provenance),
        source=str(path),
        extra={"esd": esd, "notes": notes, "warnings": warned, "data_block": block.name},
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
    ), warned


def _phase_name(block: gemmi.cif.Block, path: Path, given: str | None, several: bool) -> str:
    """``given``, else ``_pd_phase_name``, else the file name made path-safe (see module doc).

    In a file read whole (:func:`read_cifs`) blocks without ``_pd_phase_name`` are named
    ``<file>_<block>`` so that they differ.
    """
    for cand, what in ((given, "phase name"), (text_value(block, "_pd_phase_name"),
                                                "_pd_phase_name")):
        if cand:
            bad = path_breaking(cand)
            if bad:
                raise InputError(f"{what} '{cand[:40]}' contains {bad!r}, which breaks "
                                 "parameter paths (phases.<name>...); give another name")
            return cand
    stem = path_safe(path.stem) or "phase"
    return f"{stem}_{path_safe(block.name)}" if several else stem
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
    raise InputError(f"unknown element '{text[:20]}' at site {label}")


_SITE_COLUMNS = ["label", "?type_symbol", "fract_x", "fract_y", "fract_z", "?occupancy",
                 "?B_iso_or_equiv", "?U_iso_or_equiv", "?Wyckoff_symbol"]


def _read_sites(block: gemmi.cif.Block, cell: Cell, sg: SpaceGroup, esd: dict[str, float],
                notes: list[str], warned: list[str]) -> list[Site]:
    table = block.find("_atom_site_", _SITE_COLUMNS)
    if len(table) == 0:
        raise InputError(
            f"no atom sites (_atom_site_label/_atom_site_fract_x/y/z) in '{block.name[:40]}'"
        )
    if len(table) > MAX_SITES or len(table) * sg.order > MAX_ATOMS:
        raise InputError(f"{len(table)} atom sites in a group of {sg.order} operations; "
                         f"at most {MAX_SITES} sites and {MAX_ATOMS} atoms per cell are read")
    aniso = _read_aniso(block)
    return [_site(row, cell, sg, esd, notes, warned, aniso) for row in table]


def _site(row: gemmi.cif.Table.Row, cell: Cell, sg: SpaceGroup, esd: dict[str, float],
          notes: list[str], warned: list[str], aniso: dict[str, tuple[float, ...]]) -> Site:
    label = gemmi.cif.as_string(row[0]).strip()
    if label in ("", "?", "."):
        raise InputError("an atom site has no label (_atom_site_label is '?' or '.')")
    bad = path_breaking(label)
    if bad:
        raise InputError(f"site label '{label[:40]}' contains {bad!r}, which breaks parameter "
                         "paths (phases.<name>.sites.<label>.x); rename the site")
    type_symbol = gemmi.cif.as_string(row[1]).strip() if row.has(1) else ""
    element = _element(type_symbol if type_symbol not in ("?", ".") else "", label)

    def num(i: int, key: str) -> float | None:
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
        if abs(v) > MAX_COORDINATE:
            raise InputError(f"site {label}: fractional coordinate {axis} = {v:.6g} is outside "
                             f"±{MAX_COORDINATE:g} (not a fractional coordinate)")
        xyz.append(v)
    occ = num(5, "occ")
    occ = 1.0 if occ is None else occ
    if occ > 1.0 + 1e-4:
        raise InputError(f"site {label}: occupancy {occ} > 1")
    if occ <= 0.0:
        raise InputError(f"site {label}: occupancy {occ} ≤ 0")
    b = _b_iso(label, num(6, "b_iso"), num(7, "b_iso"), aniso.get(label), cell, esd, notes,
               warned)
    wyck = gemmi.cif.as_string(row[8]).strip() if row.has(8) else ""
    wyck = re.sub(r"[^a-zA-Z]", "", wyck)[:3] if wyck not in ("?", ".") else ""
    snapped = snap_to_special_position(sg, cell, tuple(xyz))
    if np.max(np.abs(np.subtract(snapped, xyz))) > 1e-5:
        notes.append(f"site {label}: moved onto its special position {snapped}")
    return Site(label=label, element=element, xyz=snapped, occupancy=min(occ, 1.0), b_iso=b,
                u_aniso=aniso.get(label), wyckoff=wyck)


def _b_iso(label: str, b: float | None, u: float | None, u_aniso: tuple[float, ...] | None,
           cell: Cell, esd: dict[str, float], notes: list[str], warned: list[str]) -> float:
    """B (Å²) of a site from B_iso, U_iso or the anisotropic U (module docstring)."""
    key = f"sites.{label}.b_iso"
    if b is None and u is not None:
        b = EIGHT_PI2 * u
        if key in esd:
            esd[key] *= EIGHT_PI2
    if u_aniso is not None:
        if min(u_aniso[:3]) < 0:
            raise InputError(f"site {label}: negative anisotropic ADP "
                             f"{tuple(round(v, 6) for v in u_aniso[:3])}")
        b = EIGHT_PI2 * _u_equivalent(cell, u_aniso)
    if b is None:
        notes.append(f"site {label}: no ADP given, B = {DEFAULT_B_ISO} Å² assumed")
        return DEFAULT_B_ISO
    if not b <= EIGHT_PI2 * MAX_U_ISO:
        raise InputError(f"site {label}: ADP B = {b:.4g} Å² (Uiso {b / EIGHT_PI2:.4g} Å²) is "
                         f"above Uiso {MAX_U_ISO:g} Å²")
    if b < EIGHT_PI2 * MIN_U_ISO:
        raise InputError(f"site {label}: negative ADP (B = {b:.4g} Å², Uiso "
                         f"{b / EIGHT_PI2:.4g} Å², below {MIN_U_ISO:g} Å²)")
    if b < 0:
        warned.append(f"site {label}: negative ADP Uiso {b / EIGHT_PI2:.4g} Å² "
                      f"(B {b:.4g} Å²) read as B = 0")
        esd.pop(key, None)
        return 0.0
    return b


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
                raise InputError(f"site {label[:40]}: anisotropic ADP {exc}") from None
            if any(v is None for v in vals):
                continue
            if any(abs(factor * v) > MAX_U_ISO for v in vals):  # type: ignore[operator]
                raise InputError(f"site {label[:40]}: anisotropic U above {MAX_U_ISO:g} Å²")
            out[label] = tuple(factor * v for v in vals)  # type: ignore[operator]
    return out


def _u_equivalent(cell: Cell, u: tuple[float, ...]) -> float:
    u11, u22, u33, u12, u13, u23 = u
    um = np.array([[u11, u12, u13], [u12, u22, u23], [u13, u23, u33]])
    astar = np.sqrt(np.diag(cell.reciprocal_metric))
    return float(np.einsum("ij,i,j,ij->", um, astar, astar, cell.metric) / 3.0)
