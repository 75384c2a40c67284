"""Write a Phase as a CIF 1.1 file that VESTA, gemmi, PyCifRW, pymatgen and ASE read.

Conventions (physics.md §9; CIF core dictionary 2.4)
----------------------------------------------------
* Symmetry twice: ``_space_group_symop_operation_xyz`` (CIF 1.1 core) and the older
  ``_symmetry_equiv_pos_as_xyz`` that older readers (VESTA among them) look for;
  the group as ``_space_group_name_H-M_alt``, ``_space_group_IT_number`` and
  ``_symmetry_space_group_name_H-M``.
* Values with esds in parentheses by the IUCr 19 rule (:func:`xtal.util.esd.format_esd`);
  esds are looked up by dot-path (``'cell.a'``, ``'sites.Na1.x'``, ``'sites.Na1.occ'``,
  ``'sites.Na1.b_iso'``), the keys :func:`xtal.io.cif.read_cif` stores in
  ``Phase.extra['esd']``.
* Occupancies stay as they are (0.333333, not 1/3 rounded to 0.33); B_iso in Å²
  (``_atom_site_B_iso_or_equiv``), anisotropic U in Å² (``_atom_site_aniso_U_ij``).
* ``_cell_formula_units_Z`` must be a whole number ≥ 1 (CIF core dictionary), so a
  fractional Z (trigonal Na3BS3: 2/3) is written as Z = 1 with the cell contents as
  ``_chemical_formula_sum`` and the true Z in a comment.
* ``p1=True`` writes every atom of the unit cell (Phase.atoms) in P1.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

from xtal.crystal.phase import Phase
from xtal.util.esd import format_esd, format_plain
from xtal.util.files import atomic_write, check_writable

__all__ = ["format_cif", "format_esd", "write_cif"]

_P1_OPS = ("x,y,z",)


def format_cif(
    phase: Phase,
    esds: dict[str, float] | None = None,
    provenance: str = "",
    p1: bool = False,
    rwp: float | None = None,
) -> str:
    """CIF 1.1 text of ``phase``.

    Parameters
    ----------
    phase
        The structure.
    esds
        Standard uncertainties by dot-path (``'cell.a'``, ``'sites.B1.occ'``...), merged
        over ``phase.extra['esd']``.
    provenance
        Free text for the comment block (e.g. the refinement that produced the model).
    p1
        Expand to P1 with all atoms of the cell.
    rwp
        Rwp of the refinement (%), written in the comment block if given.
    """
    import xtal

    err = dict(phase.extra.get("esd", {}) or {})
    err.update(esds or {})
    lines = _header(phase, provenance, rwp, xtal.__version__)
    lines += [f"data_{_block_name(phase.name)}", ""]
    lines += [
        f"_audit_creation_method          'xtal {xtal.__version__}'",
        f"_audit_creation_date            {datetime.date.today().isoformat()}",
    ]
    lines += _formula_and_cell(phase, err)
    lines += _symmetry(phase, p1)
    lines += _atom_sites(phase, err, p1)
    return "\n".join(lines) + "\n"


def write_cif(
    phase: Phase,
    path: str | os.PathLike[str],
    esds: dict[str, float] | None = None,
    provenance: str = "",
    p1: bool = False,
    rwp: float | None = None,
    force: bool = False,
) -> Path:
    """Write :func:`format_cif` text to ``path`` atomically; never overwrite unless ``force``."""
    p = check_writable(path, force)
    return atomic_write(p, format_cif(phase, esds=esds, provenance=provenance, p1=p1, rwp=rwp))


# -- pieces ----------------------------------------------------------------------------------
def _header(phase: Phase, provenance: str, rwp: float | None, version: str) -> list[str]:
    out = [f"# {phase.name}: written by xtal {version} on {datetime.date.today().isoformat()}"]
    if phase.source:
        out.append(f"# source: {phase.source}")
    if rwp is not None:
        out.append(f"# refinement: Rwp = {rwp:.2f} %")
    for text in (provenance, phase.provenance):
        for line in text.splitlines():
            if line.strip():
                out.append(f"#   {line.strip()}")
    return out + [""]


def _block_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name) or "phase"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "") + "'"


def _formula_and_cell(phase: Phase, err: dict[str, float]) -> list[str]:
    formula, z = phase.formula_and_z
    out = []
    if z.denominator == 1:
        out.append(f"_chemical_formula_sum            {_quote(_formula_sum(formula))}")
        z_text = str(z.numerator)
    else:
        contents = {el: n for el, n in phase.cell_contents.items()}
        out.append(
            f"# Z = {z} formula units {phase.formula} per cell: formula sum is the cell content"
        )
        out.append(f"_chemical_formula_sum            {_quote(_formula_sum(contents))}")
        z_text = "1"
    c = phase.cell
    for key, tag in (
        ("a", "length_a"),
        ("b", "length_b"),
        ("c", "length_c"),
        ("alpha", "angle_alpha"),
        ("beta", "angle_beta"),
        ("gamma", "angle_gamma"),
    ):
        value = getattr(c, key)
        out.append(f"_cell_{tag:<27}{format_esd(value, err.get(f'cell.{key}'))}")
    out.append(f"_cell_volume                     {c.volume:.4f}")
    out.append(f"_cell_formula_units_Z            {z_text}")
    return out


def _formula_sum(counts: dict) -> str:
    order = sorted(counts, key=lambda e: (e != "C", e != "H", e))
    parts = []
    for el in order:
        n = float(counts[el])
        parts.append(el if abs(n - 1) < 1e-9 else f"{el}{format_plain(n, 4).removesuffix('.0')}")
    return " ".join(parts)


def _symmetry(phase: Phase, p1: bool) -> list[str]:
    if p1:
        symbol, number, ops = "P 1", 1, _P1_OPS
    else:
        sg = phase.space_group
        symbol, number, ops = sg.symbol, sg.number, sg.operations
    # no _space_group_crystal_system: ASE warns that it cannot use 'trigonal'
    out = [
        "",
        f"_space_group_IT_number           {number}",
        f"_space_group_name_H-M_alt        {_quote(symbol)}",
        f"_symmetry_space_group_name_H-M   {_quote(symbol)}",
        f"_symmetry_Int_Tables_number      {number}",
        "",
        "loop_",
        "_space_group_symop_id",
        "_space_group_symop_operation_xyz",
    ]
    out += [f"{k} {_quote(op)}" for k, op in enumerate(ops, 1)]
    out += ["", "loop_", "_symmetry_equiv_pos_site_id", "_symmetry_equiv_pos_as_xyz"]
    out += [f"{k} {_quote(op)}" for k, op in enumerate(ops, 1)]
    return out


def _atom_sites(phase: Phase, err: dict[str, float], p1: bool) -> list[str]:
    rows: list[list[str]] = []
    aniso: list[tuple[str, tuple[float, ...]]] = []
    used: set[str] = set()
    if p1:
        at = phase.atoms
        count: dict[int, int] = {}
        for k in range(len(at)):
            s = phase.sites[at.site_index[k]]
            count[at.site_index[k]] = count.get(at.site_index[k], 0) + 1
            label = _unique(f"{s.label}_{count[at.site_index[k]]}", used)
            xyz = [round(float(v), 6) % 1.0 for v in at.frac[k]]
            rows.append(
                [
                    label,
                    s.element,
                    "1",
                    "a",
                    *(format_plain(v) for v in xyz),
                    format_plain(s.occupancy),
                    "Biso",
                    format_plain(s.b_iso, 4),
                ]
            )
    else:
        letters = _wyckoff_letters(phase)
        for i, s in enumerate(phase.sites):
            label = _unique(s.label, used)
            mult = s.multiplicity or phase.site_multiplicity(i)
            coords = [
                format_esd(v, err.get(f"sites.{s.label}.{ax}"))
                for v, ax in zip(s.xyz, "xyz", strict=True)
            ]
            rows.append(
                [
                    label,
                    s.element,
                    str(mult),
                    letters[i] or "?",
                    *coords,
                    format_esd(s.occupancy, err.get(f"sites.{s.label}.occ")),
                    "Bani" if s.u_aniso else "Biso",
                    format_esd(s.b_iso, err.get(f"sites.{s.label}.b_iso"), 4),
                ]
            )
            if s.u_aniso:
                aniso.append((label, s.u_aniso))
    out = [
        "",
        "loop_",
        "_atom_site_label",
        "_atom_site_type_symbol",
        "_atom_site_symmetry_multiplicity",
        "_atom_site_Wyckoff_symbol",
        "_atom_site_fract_x",
        "_atom_site_fract_y",
        "_atom_site_fract_z",
        "_atom_site_occupancy",
        "_atom_site_adp_type",
        "_atom_site_B_iso_or_equiv",
    ]
    out += _columns(rows)
    if aniso:
        out += ["", "loop_", "_atom_site_aniso_label"]
        out += [f"_atom_site_aniso_U_{ij}" for ij in ("11", "22", "33", "12", "13", "23")]
        out += _columns([[lab, *(format_plain(u, 6) for u in us)] for lab, us in aniso])
    return out


def _wyckoff_letters(phase: Phase) -> list[str]:
    if all(s.wyckoff for s in phase.sites):
        return [s.wyckoff for s in phase.sites]
    from xtal.crystal.wyckoff import wyckoff_sites

    computed = wyckoff_sites(phase)
    return [s.wyckoff or w.letter for s, w in zip(phase.sites, computed, strict=True)]


def _unique(label: str, used: set[str]) -> str:
    # CIF labels compare case-insensitively in many readers; no spaces allowed
    base = re.sub(r"\s+", "_", label.strip()) or "X"
    name, k = base, 1
    while name.lower() in used:
        k += 1
        name = f"{base}_{k}"
    used.add(name.lower())
    return name


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return [" ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
