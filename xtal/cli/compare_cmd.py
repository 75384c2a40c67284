"""``xtal compare`` (phases and fits side by side) and ``xtal report-html``.

An item is a shipped or registered structure name, a CIF path, or a refinement result
directory (its refined phases, with weight fraction and R_Bragg; see
:mod:`xtal.app.compare` for what one or several results add).  Bad input raises
:class:`xtal.errors.InputError`, printed by :func:`xtal.cli.main` on one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from xtal.cli import app
from xtal.cli.ranges import RANGE_STEP_METAVAR, MultiValueCommand, two_theta_range
from xtal.cli.tables import table_console

#: rows of the table of reflections only one fit has printed on the terminal
SHOWN_EXTRA = 15


@app.command("compare", cls=MultiValueCommand)
def compare_cmd(
    items: Annotated[
        list[str],
        typer.Argument(help="Structure names, CIF paths or refinement result directories.",
                       show_default=False),
    ],
    phase: Annotated[
        list[str] | None,
        typer.Option("--phase", "-p", help="Another phase to put beside them (name or CIF); "
                                           "repeatable."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="A measured pattern to draw over the simulated ones."),
    ] = None,
    instrument: Annotated[
        Path | None, typer.Option("--instrument", help="Instrument (.instprm/.prm).")
    ] = None,
    two_theta: Annotated[
        list[float] | None,
        typer.Option("--range", metavar=RANGE_STEP_METAVAR, show_default=False,
                     help="2θ range (degrees) and step of the simulated patterns, e.g. "
                          "--range 10 80 0.01; default: the data's or the first result's."),
    ] = None,
    alpha: Annotated[
        float, typer.Option("--alpha", help="Significance level of Hamilton's test.")
    ] = 0.05,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write compare.md, compare.json, overlay.png (and fits.png) "
                                   "here."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty --out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Phases side by side: table, simulated overlay, distinguishing reflections.

    One refinement result: its refined phases beside their starting models.  Several
    results (fits of different models to one pattern, e.g. the average Na3BS3 and the
    ordered candidates of 'xtal order --out'): also Rwp, GOF, parameters, Hamilton's test
    of each fit against the first, and the reflections only a fit's own phases have.
    """
    from xtal.app.compare import compare
    from xtal.errors import InputError

    given = [*items, *(phase or ())]
    if out is not None and out.is_dir() and any(out.iterdir()) and not force:
        # checked before the (slow) simulation so that nothing is computed in vain
        raise InputError("output directory is not empty; use --force to overwrite", out)
    results = [p for p in given if _is_result(p)]
    comp = compare(given, instrument=instrument, two_theta=two_theta_range(two_theta, step=True),
                   data=data, alpha=alpha, starting_models=len(results) == 1)
    written = []
    if out is not None:
        from xtal.io.compare_output import write_comparison

        written = write_comparison(comp, out, force=force)
    if as_json:
        typer.echo(comp.to_json())
        return
    _print(comp, written)


def _is_result(item: str) -> bool:
    p = Path(item)
    return (p.is_dir() and (p / "result.json").is_file()) or (
        p.is_file() and p.suffix.lower() == ".json")


def _print(comp, written: list[Path]) -> None:
    console = table_console()
    console.print(_table("phases side by side", *comp.table()))
    for s in comp.phases:
        for note in s.notes:
            console.print(f"note: {s.name}: {note}", highlight=False)
    header, rows = comp.distinguishing_table()
    lo, hi, _ = comp.two_theta
    console.print(_table(
        f"distinguishing reflections ({lo:g}–{hi:g}° 2θ, λ = {comp.instrument.lam1:.5f} Å;"
        f" > 1 FWHM from every other phase's peak, > {100 * comp.min_intensity:g} % of "
        "strongest)", header, rows))
    if not rows:
        console.print("no distinguishing reflections: every peak overlaps another phase")
    if comp.fits:
        console.print(_table("fits to the pattern (Rwp without restraint terms)",
                             *comp.fits_table()))
    if comp.tests:
        console.print(_table("Hamilton's R-ratio test (Acta Cryst. 18, 502, 1965): R > "
                             "R_{b,n−m,α} rejects the restricted model", *comp.tests_table()))
        for t in comp.tests:
            console.print(t.verdict(), highlight=False)
    if comp.extra:
        header, rows = comp.extra_table(SHOWN_EXTRA)
        console.print(_table(
            f"reflections only a fit's own phases have ({len(rows)} strongest of "
            f"{len(comp.extra)}; I_calc in counts × degrees, σ_I over ±1 FWHM)", header, rows))
    for note in comp.notes:
        console.print(f"note: {note}", highlight=False)
    for p in written:
        console.print(f"wrote {p}", highlight=False)


def _table(title: str, header: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title)
    for k, col in enumerate(header):
        table.add_column(col, no_wrap=k == 0, overflow="fold")
    for r in rows:
        table.add_row(*r)
    return table


@app.command("report-html")
def report_html_cmd(
    result_dir: Annotated[Path, typer.Argument(help="Refinement output directory.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite report.html.")] = False,
) -> None:
    """Write a self-contained report.html (and report.md if missing) into RESULT_DIR."""
    from xtal.app.reports import write_report_html

    for p in write_report_html(result_dir, force=force):
        typer.echo(f"wrote {p}")
