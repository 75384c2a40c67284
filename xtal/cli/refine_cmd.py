"""``xtal refine`` and ``xtal report``: Rietveld refinement from the command line.

``xtal refine`` validates every input (pattern, phases, instrument, recipe, range,
output directory) before it computes or writes anything, refines with a live
progress display on stderr, and writes the output directory atomically
(:func:`xtal.app.refine_job.run_refinement`, :mod:`xtal.io.refine_output`).  Exit
status: 0 done, 1 the refinement stopped early (outputs hold the last good state),
2 bad input (nothing written).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.console import Console

from xtal.cli import app
from xtal.cli.ranges import RANGE_METAVAR, MultiValueCommand, two_theta_range
from xtal.cli.tables import table_console
from xtal.errors import InputError


@app.command("refine", cls=MultiValueCommand)
def refine_command(
    data: Path = typer.Argument(..., help="Measured pattern (any format xtal reads)."),
    phase: list[str] | None = typer.Option(
        None, "--phase", "-p", help="Starting phase: shipped/registered name or CIF; repeat."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (created)."),
    instrument: Path | None = typer.Option(
        None, "--instrument", "-i", help="GSAS-II .instprm or GSAS .prm (default Cu Kα)."),
    recipe: str | None = typer.Option(
        None, "--recipe", "-r", help="Recipe TOML file or shipped name (default: standard)."),
    range_: list[float] | None = typer.Option(
        None, "--range", metavar=RANGE_METAVAR,
        help="Refine only LO ≤ 2θ ≤ HI (degrees), e.g. --range 10 80."),
    exclude: list[float] | None = typer.Option(
        None, "--exclude", metavar="LO HI", help="Leave out LO ≤ 2θ ≤ HI (degrees); repeatable."),
    fix: list[str] | None = typer.Option(
        None, "--fix", help="Never refine these parameters (dot path, wildcards); repeatable."),
    constraint: list[str] | None = typer.Option(
        None, "--constraint",
        help="Extra linear constraint, e.g."
             " 'phases.P.sites.B1.occ + phases.P.sites.B2.occ = 2/3'; repeatable."),
    fcj: str | None = typer.Option(
        None, "--fcj",
        help="Axial-divergence quadrature: fast (1e-3 of a peak) or exact (1e-5); "
             "default: the recipe's."),
    force: bool = typer.Option(False, "--force", help="Replace the contents of a non-empty DIR."),
    engine: str = typer.Option(
        "native", "--engine",
        help="native (xtal), gsas2 (GSAS-II; 'make gsas2') or both (a cross-check table in "
             "report.md; GSAS-II's .gpx/.lst beside it)."),
    le_bail: list[str] | None = typer.Option(
        None, "--le-bail",
        help="Le Bail phase (intensities extracted): name, CIF (atoms ignored) or "
             "'a,b,c,alpha,beta,gamma:SPACEGROUP'; repeatable; mixes with --phase."),
    internal_standard: str | None = typer.Option(
        None, "--internal-standard", metavar="PHASE:WT%[:ESD%]",
        help="Weighed-in standard, e.g. Si_standard:10:0.05: fractions of the whole "
             "sample and the amorphous part."),
    role: list[str] | None = typer.Option(
        None, "--role", metavar="ROLE=PHASE",
        help="The phase that fills a recipe role, e.g. trigonal=my_table1; repeatable."),
    start: Path | None = typer.Option(
        None, "--start", metavar="RESULT_DIR",
        help="Warm start: begin from the values of an earlier refinement (its directory or "
             "result.json); parameters it does not have keep the models' values."),
) -> None:
    """Rietveld refinement: writes result.json, CIFs, fit.png, report.md/.html, refine.log."""
    from xtal.app.refine_job import RefineRequest, run_refinement, summary_table

    req = RefineRequest(
        data=data, phases=tuple(phase or ()), out=out, instrument=instrument, recipe=recipe,
        two_theta_range=two_theta_range(range_), exclude=tuple(_pairs(exclude)),
        fix=tuple(fix or ()),
        constraints=tuple(constraint or ()), fcj=fcj, force=force, engine=engine,
        le_bail=tuple(le_bail or ()), internal_standard=internal_standard,
        roles=tuple(_role(r) for r in role or ()), start=start)
    command = shlex.join(["xtal", *sys.argv[1:]])
    result, outputs = run_refinement(req, command)
    console = table_console()  # in a log file: wide enough for the table
    console.print(summary_table(result))
    console.print(f"outputs in [bold]{outputs.directory}[/bold]: "
                  + ", ".join(p.name for p in outputs.files), highlight=False)
    for w in result.warnings:
        print(f"xtal: warning: {w}", file=sys.stderr)
    if result.stopped:
        # outputs are written (last good state), but the caller must know it is not a result
        print(f"xtal: refinement stopped: {result.stopped}", file=sys.stderr)
        raise SystemExit(1)  # typer.Exit is swallowed by main()'s standalone_mode=False


def _role(text: str) -> tuple[str, str]:
    name, sep, phase = text.partition("=")
    if not sep or not name or not phase:
        raise InputError(f"--role '{text}': give ROLE=PHASE, e.g. trigonal=my_table1")
    return name.strip(), phase.strip()


def _pairs(values: list[float] | None) -> list[tuple[float, float]]:
    """Group the flattened ``--exclude`` values (:class:`MultiValueCommand`) into pairs."""
    vals = list(values or ())
    if len(vals) % 2:
        raise InputError("--exclude needs two numbers, LO and HI")
    return [(float(vals[k]), float(vals[k + 1])) for k in range(0, len(vals), 2)]


@app.command("report")
def report_command(
    result_dir: Path = typer.Argument(..., help="Directory holding result.json (or the file)."),
    force: bool = typer.Option(False, "--force", help="Overwrite report.md and fit.png."),
    no_plot: bool = typer.Option(False, "--no-plot", help="Write report.md only."),
    html: bool = typer.Option(True, "--html/--no-html",
                              help="Also write report.html (self-contained)."),
) -> None:
    """Regenerate report.md, report.html and fit.png from a refinement's result.json."""
    from xtal.io.plots import check_plot_path, plot_fit
    from xtal.io.refine_output import FIT_PNG, REPORT_MD
    from xtal.io.report_md import write_report
    from xtal.refine.result import Result
    from xtal.util.files import check_writable

    result = Result.load(result_dir)
    where = result_dir if result_dir.is_dir() else result_dir.parent
    # check both targets before writing either
    report = check_writable(where / REPORT_MD, force)
    plot = None if no_plot else check_plot_path(where / FIT_PNG, force)
    if html:
        check_writable(where / "report.html", force)
    write_report(result, report, force=force)
    written = [report]
    if plot is not None:
        written.append(plot_fit(result, plot, force=force))
    if html:
        from xtal.app.reports import write_report_html

        written += write_report_html(where, force=True)
    Console(stderr=True).print("wrote " + ", ".join(str(p) for p in written), highlight=False)
