"""The analysis in a refinement's report: symmetry, ring distortion, phases side by side.

:mod:`xtal.io.report_html` lays out and writes ``report.html``; the sections that
need structure analysis are computed here, above both layers, and handed to it as
plain blocks (tables, paragraphs, SVG text):

* symmetry: declared group and spglib's at 0.01 Å (:func:`xtal.analysis.symmetry.symmetry`);
* ring distortion where B–S units exist (:func:`xtal.analysis.rings.rings`);
* the phases side by side with their distinguishing reflections
  (:func:`xtal.app.compare.compare`), for a result with two or more phases.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from xtal.analysis.rings import rings
from xtal.analysis.symmetry import TOLERANCES, symmetry
from xtal.errors import InputError
from xtal.io import report_html
from xtal.io.report_html import Block, Figure, Heading, Para, Table
from xtal.refine.result import Result

#: spglib tolerance (Å) quoted in the symmetry table.
SYMPREC = 0.01


def write_report_html(result_dir: str | os.PathLike[str], force: bool = False) -> list[Path]:
    """Write ``report.html`` (and ``report.md`` if missing) with the analysis sections.

    See :func:`xtal.io.report_html.write_report_html` for the files and the errors.
    """
    return report_html.write_report_html(result_dir, force, sections=analysis_sections)


def analysis_sections(result: Result) -> list[Block]:
    """Symmetry, ring distortion and (two or more phases) phases side by side.

    Of the phases with a structure: a Le Bail phase (cell only) has no atoms to analyse.
    """
    structures = {n: pr for n, pr in result.phases.items() if not pr.is_le_bail}
    if len(structures) < len(result.phases):
        result = replace(result, phases=structures)
    if not structures:
        return []
    return _symmetry(result) + _rings(result) + _side_by_side(result)


def _symmetry(r: Result) -> list[Block]:
    rows = []
    for name, pr in r.phases.items():
        rep = symmetry(pr.phase, tuple(sorted({*TOLERANCES, SYMPREC})))
        at = next(x for x in rep.ladder if abs(x.tolerance - SYMPREC) < 1e-12)
        found = "spglib failed" if at.symbol is None else f"{at.symbol} ({at.number})"
        pseudo = ("none" if rep.pseudo_symmetry_tolerance is None else
                  f"{rep.pseudo_symmetry_symbol} ({rep.pseudo_symmetry_number}) from "
                  f"{rep.pseudo_symmetry_tolerance:g} Å")
        rows.append([name, f"{rep.declared_symbol} ({rep.declared_number})", found, pseudo,
                     f"{rep.formula_units:.4g}", f"{rep.density:.4f}",
                     f"{rep.mean_atomic_volume:.3f}"])
    return [Heading(2, "Symmetry"),
            Para(f"Declared space group and the group spglib finds at {SYMPREC:g} Å, atoms "
                 "typed by element and occupancy; pseudo-symmetry: the smallest tolerance at "
                 "which a group higher than the declared one appears."),
            Table(["phase", "declared", f"spglib at {SYMPREC:g} Å", "higher group",
                   "Z", "density (g/cm³)", "mean atomic volume (cm³/mol)"], rows,
                  numeric_from=4, css_id="symmetry")]


def _rings(r: Result) -> list[Block]:
    summary, units, absent = [], [], []
    for name, pr in r.phases.items():
        try:
            rep = rings(pr.phase)
        except InputError as err:
            absent.append(f"{name}: {err.message}")
            continue
        summary.append([name, str(len(rep.rings)), f"{rep.mean_edge:.4f}",
                        f"{rep.mean_distortion_index:.3e}", f"{rep.max_distortion_index:.3e}",
                        f"{rep.mean_angle_variance:.3g}", f"{rep.mean_shape_measure:.3g}"])
        for u in rep.units:
            units.append([name, u.label, f"{u.occupancy:.4g}",
                          " ".join(f"{b:.4f}" for b in u.bond_lengths),
                          " ".join(f"{a:.2f}" for a in u.angles), f"{u.out_of_plane:.4f}"])
    if not summary:
        return [Heading(2, "B–S ring distortion"),
                Para("No phase has B–S units: " + "; ".join(absent))]
    out: list[Block] = [
        Heading(2, "B–S ring distortion"),
        Para("Δ: Baur edge-length distortion index; σ²: angle variance against 120°; "
             "CSM: continuous shape measure against a regular hexagon (0 = regular)."),
        Table(["phase", "rings", "mean edge (Å)", "mean Δ", "max Δ", "mean σ² (°²)",
               "mean CSM"], summary, css_id="rings"),
        Table(["phase", "B site", "occupancy", "B–S (Å)", "S–B–S (°)", "out of plane (Å)"],
              units, numeric_from=2, css_id="bs3-units"),
    ]
    if absent:
        out.append(Para("Without B–S units: " + "; ".join(absent)))
    return out


def _side_by_side(r: Result) -> list[Block]:
    if len(r.phases) < 2:
        return []
    from xtal.app.compare import compare
    from xtal.io.compare_output import overlay_svg

    comp = compare([r])
    header, rows = comp.distinguishing_table()
    return [
        Heading(2, "Phases side by side"),
        Table(*comp.table(), css_id="compare"),
        Heading(3, "Distinguishing reflections"),
        Para(f"Peaks of one phase more than one instrumental FWHM from every peak of the "
             f"others, above {100 * comp.min_intensity:g} % of their phase's strongest "
             f"(refined cells and instrument, λ = {comp.instrument.lam1:.5f} Å)."),
        Table(header, rows, numeric_from=2, css_id="distinguishing") if rows
        else Para("None: every peak overlaps a peak of another phase."),
        Figure(overlay_svg(comp), "Simulated pattern of each refined phase (scaled to 100, "
               "offset), hkl ticks, ▼ distinguishing reflections", "overlay-plot"),
    ]
