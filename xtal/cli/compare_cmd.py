"""``xtal compare`` (phases side by side) and ``xtal report-html`` (self-contained report).

PHASE is a shipped or registered structure name, a CIF path, or a refinement result
directory (its refined phases, with weight fraction and R_Bragg).  Bad input raises
:class:`xtal.errors.InputError`, printed by :func:`xtal.cli.main` on one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from xtal.cli import app


@app.command("compare")
def compare_cmd(
    phases: Annotated[
        list[str],
        typer.Argument(help="Two or more: structure names, CIF paths or result directories."),
    ],
    instrument: Annotated[
        Path | None, typer.Option("--instrument", help="Instrument (.instprm/.prm).")
    ] = None,
    two_theta: Annotated[
        tuple[float, float, float] | None,
        typer.Option("--range", help="2θ start, stop, step (degrees).", show_default=False),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write compare.md, compare.json, overlay.png here."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty --out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Phases side by side: table, simulated overlay, distinguishing reflections."""
    from xtal.app.compare import compare
    from xtal.errors import InputError

    if len(phases) < 2:
        raise InputError(f"compare needs at least two phases (got {len(phases)})")
    if out is not None and out.is_dir() and any(out.iterdir()) and not force:
        # checked before the (slow) simulation so that nothing is computed in vain
        raise InputError("output directory is not empty; use --force to overwrite", out)
    comp = compare(phases, instrument=instrument, two_theta=two_theta)
    written = []
    if out is not None:
        from xtal.io.compare_output import write_comparison

        written = write_comparison(comp, out, force=force)
    if as_json:
        typer.echo(comp.to_json())
        return
    console = Console()
    header, rows = comp.table()
    table = Table(title="phases side by side")
    for col in header:
        table.add_column(col)
    for r in rows:
        table.add_row(*r)
    console.print(table)
    for s in comp.phases:
        for note in s.notes:
            console.print(f"note: {s.name}: {note}")
    header, rows = comp.distinguishing_table()
    lo, hi, _ = comp.two_theta
    dist = Table(
        title=f"distinguishing reflections ({lo:g}–{hi:g}° 2θ, λ = {comp.instrument.lam1:.5f} Å;"
        f" > 1 FWHM from every other phase's peak, > {100 * comp.min_intensity:g} % of strongest)"
    )
    for col in header:
        dist.add_column(col)
    for r in rows:
        dist.add_row(*r)
    console.print(dist)
    if not rows:
        console.print("no distinguishing reflections: every peak overlaps another phase")
    for p in written:
        console.print(f"wrote {p}")


@app.command("report-html")
def report_html_cmd(
    result_dir: Annotated[Path, typer.Argument(help="Refinement output directory.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite report.html.")] = False,
) -> None:
    """Write a self-contained report.html (and report.md if missing) into RESULT_DIR."""
    from xtal.app.reports import write_report_html

    for p in write_report_html(result_dir, force=force):
        typer.echo(f"wrote {p}")
