"""``xtal symmetry``, ``xtal rings``, ``xtal order``, ``xtal export``: structure analysis
and export.

PHASE is a shipped structure name or a CIF path (:func:`xtal.io.library.load_phase`);
``xtal export`` also takes a refinement result directory (refined phases with esds,
refined instrument as ``.instprm``, observed data as ``.xye``).
Bad input raises :class:`xtal.errors.InputError`, which :func:`xtal.cli.main` prints on
one line (exit status 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from xtal.cli import app
from xtal.cli.tables import table_console

PhaseArg = Annotated[str, typer.Argument(help="Shipped structure name or CIF path.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _load(name: str):
    from xtal.io.library import load_phase

    return load_phase(name)


@app.command("symmetry")
def symmetry_cmd(phase: PhaseArg, as_json: JsonOpt = False) -> None:
    """Space group as declared and as spglib finds it over a ladder of tolerances."""
    from xtal.analysis.symmetry import symmetry

    rep = symmetry(_load(phase))
    if as_json:
        typer.echo(rep.to_json())
        return
    console = table_console()
    console.print(
        f"[bold]{rep.phase}[/bold]  {rep.formula}  declared {rep.declared_symbol} "
        f"(No. {rep.declared_number}, {rep.declared_operations} operations)"
    )
    table = Table(title="spglib over tolerances (types = element + occupancy)")
    for col in ("symprec (Å)", "group", "No.", "Hall", "ops", "higher", "Wyckoff"):
        table.add_column(col)
    for r in rep.ladder:
        wyck = " ".join(f"{k}:{v}" for k, v in r.wyckoffs.items())
        table.add_row(
            f"{r.tolerance:g}",
            str(r.symbol),
            str(r.number),
            str(r.hall_number),
            str(r.n_operations),
            "yes" if r.higher else "",
            wyck,
        )
    console.print(table)
    if rep.pseudo_symmetry_tolerance is None:
        console.print("no group higher than the declared one up to the largest tolerance")
    else:
        console.print(
            f"pseudo-symmetry: {rep.pseudo_symmetry_symbol} ({rep.pseudo_symmetry_number}) "
            f"from {rep.pseudo_symmetry_tolerance:g} Å"
        )
    for note in rep.notes:
        console.print(f"note: {note}")
    console.print(
        f"Z = {rep.formula_units:.4g}   density = {rep.density:.4f} g/cm³   "
        f"mean atomic volume = {rep.mean_atomic_volume:.2f} cm³/mol"
    )


@app.command("rings")
def rings_cmd(
    phase: PhaseArg,
    as_json: JsonOpt = False,
    center: Annotated[str, typer.Option("--center", help="Ring-site element X.")] = "B",
    ligand: Annotated[str, typer.Option("--ligand", help="Ligand element Y.")] = "S",
) -> None:
    """Six-membered X–Y rings of the XY3 layers and their distortion."""
    from xtal.analysis.rings import rings

    rep = rings(_load(phase), center=center, ligand=ligand)
    if as_json:
        typer.echo(rep.to_json())
        return
    console = table_console()
    hkl = " ".join(map(str, rep.stacking_hkl))
    console.print(f"[bold]{rep.phase}[/bold]  {center}–{ligand} layers parallel to ({hkl})")
    table = Table(title="rings (Δ: Baur distortion index; σ²: angle variance; S: CSM)")
    for col in ("layer", "centre", "vertices", "edges (Å)", "Δ", "σ² (°²)", "S"):
        table.add_column(col)
    for r in rep.rings:
        table.add_row(
            str(r.layer),
            " ".join(f"{c:.4f}" for c in r.centre),
            " ".join(r.labels),
            " ".join(f"{e:.3f}" for e in r.edges),
            f"{r.distortion_index:.2e}",
            f"{r.angle_variance:.3g}",
            f"{r.shape_measure:.3g}",
        )
    console.print(table)
    console.print(
        f"mean Δ = {rep.mean_distortion_index:.3e}  mean σ² = {rep.mean_angle_variance:.3g} °²  "
        f"mean S = {rep.mean_shape_measure:.3g}"
    )
    units = Table(title=f"{center}{ligand}3 units")
    for col in ("site", "occ", f"{center}–{ligand} (Å)", "angles (°)", "out of plane (Å)"):
        units.add_column(col)
    for u in rep.units:
        units.add_row(
            u.label,
            f"{u.occupancy:.4g}",
            " ".join(f"{d:.4f}" for d in u.bond_lengths),
            " ".join(f"{a:.2f}" for a in u.angles),
            f"{u.out_of_plane:.4f}",
        )
    console.print(units)


@app.command("export")
def export_cmd(
    source: Annotated[
        str, typer.Argument(help="Shipped structure name, CIF path or refinement result directory.")
    ],
    cif: Annotated[Path | None, typer.Option("--cif", help="Output CIF file.")] = None,
    instprm: Annotated[
        Path | None, typer.Option("--instprm", help="Refined instrument (.instprm; result only).")
    ] = None,
    xye: Annotated[
        Path | None, typer.Option("--xye", help="Observed 2θ, I, σ (.xye; result only).")
    ] = None,
    phase_name: Annotated[
        str | None, typer.Option("--phase", help="The refined phase to write (result only).")
    ] = None,
    gpx: Annotated[
        Path | None,
        typer.Option("--gpx", help="GSAS-II project with the refined values (result only; "
                                   "needs GSAS-II, 'make gsas2')."),
    ] = None,
    p1: Annotated[bool, typer.Option("--p1", help="Expand to P1 with every atom.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write a phase, or a refinement's phases/instrument/data, for VESTA and GSAS-II.

    For a result directory, --cif writes the refined phase (OUT_<phase>.cif for each
    phase when there are several and no --phase), with the refinement's esds.
    """
    from xtal.errors import InputError
    from xtal.io import result_export as rx

    if cif is None and instprm is None and xye is None and gpx is None:
        raise InputError("nothing to export: give --cif, --instprm, --xye and/or --gpx")
    if not rx.is_result(source):
        if instprm is not None or xye is not None or phase_name is not None or gpx is not None:
            raise InputError(
                "--instprm, --xye, --gpx and --phase need a refinement result directory, "
                f"not a structure ({source})"
            )
        from xtal.io.cif_write import write_cif

        typer.echo(f"wrote {write_cif(_load(source), cif, p1=p1, force=force)}")
        return
    result = rx.load_result(source)
    # every target is checked before anything is written: no partial export
    from xtal.util.files import check_writable

    targets = list(rx.cif_targets(result, cif, phase_name).values()) if cif is not None else []
    targets += [t for t in (instprm, xye, gpx) if t is not None]
    if len({t.resolve() for t in targets}) < len(targets):
        raise InputError("two outputs would go to the same file")
    for t in targets:
        check_writable(t, force)
    if gpx is not None:
        from xtal.refine.gsas2 import require_gsas2

        require_gsas2()
    written = []
    if cif is not None:
        written += rx.write_result_cifs(result, cif, phase=phase_name, p1=p1, force=force)
    if instprm is not None:
        written.append(rx.write_result_instprm(result, instprm, force=force))
    if xye is not None:
        written.append(rx.write_result_xye(result, xye, force=force))
    if gpx is not None:
        from xtal.refine.gsas2.gpx_export import export_gpx

        written.append(export_gpx(result, gpx))
    for p in written:
        typer.echo(f"wrote {p}")


@app.command("order")
def order_cmd(
    phase: PhaseArg,
    sites: Annotated[str, typer.Option("--sites", help="Comma-separated partial sites.")] = "B1,B2",
    max_cells: Annotated[int, typer.Option(
        "--max-cells", help="Largest supercell, in parent cells (up to 11 for Na3BS3).")] = 3,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write each candidate as a CIF (and candidates.json) into this "
                      "directory, ready for 'xtal refine'.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty --out.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Ordered variants of partially occupied sites: derived models to test against data.

    Each candidate is written in its own space group, named <PHASE>-ordered-<k>; refine it
    with '--recipe na3bs3_ordered' and put the fits side by side with 'xtal compare'.
    """
    import json

    from xtal.analysis.ordering import check_max_cells, ordered_variants

    labels = tuple(s.strip() for s in sites.split(",") if s.strip())
    parent = _load(phase)
    check_max_cells(parent, labels, max_cells)  # before any work: one line if too large
    if out is not None:
        _check_out(out, force)
    found = _with_progress(lambda cb: ordered_variants(parent, sites=labels,
                                                       max_cells=max_cells, progress=cb))
    files = _write_candidates(found, out, force) if out is not None else {}
    rows = [_row(v, files.get(v.model.name)) for v in found]
    if out is not None:
        from xtal.util.files import atomic_write

        atomic_write(out / "candidates.json", json.dumps(rows, indent=2) + "\n")
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    _print_variants(rows, out)


def _row(v, cif: Path | None) -> dict:
    return {
        "name": v.model.name,
        "hnf": v.hnf,
        "cells": v.n_cells,
        "space_group": v.space_group,
        "number": v.space_group_number,
        "cell": v.model.cell.parameters,
        "formula": v.model.formula,
        "sites": len(v.model.sites),
        "bond_min": min(v.bond_lengths),
        "bond_max": max(v.bond_lengths),
        "mean_distortion_index": v.mean_distortion_index,
        "mean_angle_variance": v.mean_angle_variance,
        "provenance": v.model.provenance,
        "cif": None if cif is None else str(cif),
    }


def _check_out(out: Path, force: bool) -> None:
    from xtal.errors import InputError

    if out.exists() and not out.is_dir():
        raise InputError("output path exists and is not a directory", out)
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError("output directory is not empty; use --force to write into it", out)


def _write_candidates(found, out: Path, force: bool) -> dict[str, Path]:
    from xtal.io.cif_write import write_cif

    out.mkdir(parents=True, exist_ok=True)
    return {v.model.name: write_cif(v.model, out / f"{v.model.name}.cif", force=force)
            for v in found}


def _with_progress(run):
    """Run the enumeration with a progress display on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task("supercells", total=None)

    def update(what: str, done: int, total: int) -> None:
        bar.update(task, description=what, completed=done, total=total)

    with bar:
        return run(update)


def _print_variants(rows: list[dict], out: Path | None) -> None:
    table = Table(title="ordered variants (derived models made by xtal, not published "
                        "structures)")
    cols = ["name", "supercell", "n", "group", "a b c (Å)", "α β γ (°)", "bonds (Å)", "Δ",
            "σ² (°²)"]
    for k, col in enumerate(cols):
        table.add_column(col, no_wrap=k == 0, overflow="fold")
    for r in rows:
        c = r["cell"]
        table.add_row(
            r["name"],
            " / ".join(" ".join(str(v) for v in row) for row in r["hnf"]),
            str(r["cells"]),
            f"{r['space_group']} ({r['number']})",
            f"{c[0]:.3f} {c[1]:.3f} {c[2]:.3f}",
            f"{c[3]:.1f} {c[4]:.1f} {c[5]:.1f}",
            f"{r['bond_min']:.3f}–{r['bond_max']:.3f}",
            f"{r['mean_distortion_index']:.4f}",
            f"{r['mean_angle_variance']:.2f}",
        )
    console = table_console()
    console.print(table)
    if not rows:
        console.print("no ordering in which every ligand binds exactly one site")
    if out is not None and rows:
        console.print(f"wrote {len(rows)} CIFs and candidates.json to {out}; refine one with "
                      f"xtal refine DATA --phase {out / (rows[0]['name'] + '.cif')} "
                      "--recipe na3bs3_ordered ...", highlight=False)
