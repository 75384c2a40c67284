"""``xtal refine`` and ``xtal report``: Rietveld refinement from the command line.

``xtal refine`` validates every input (pattern, phases, instrument, recipe, range,
output directory) before it computes or writes anything, refines with a live
progress display on stderr, and writes the output directory atomically
(:mod:`xtal.io.refine_output`).  Exit status: 0 done, 1 the refinement stopped
early (outputs hold the last good state), 2 bad input (nothing written).
"""

from __future__ import annotations

import datetime as _dt
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperCommand

from xtal.cli import app
from xtal.errors import InputError, XtalError

FCJ_CHOICES = ("gsas2", "exact")


@dataclass(frozen=True)
class RefineRequest:
    """Everything ``xtal refine`` was asked to do (paths and names as the user gave them)."""

    data: Path
    phases: tuple[str, ...]
    out: Path
    instrument: Path | None = None
    recipe: str | None = None
    two_theta_range: tuple[float, float] | None = None
    exclude: tuple[tuple[float, float], ...] = ()
    fix: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    fcj: str = "gsas2"
    force: bool = False


def run_refinement(req: RefineRequest, command: str, console: Console | None = None):
    """Validate, refine, write the output directory; return ``(result, outputs)``.

    The shared path of ``xtal refine`` and ``make demo``.  Raises
    :class:`~xtal.errors.InputError` (before anything is written) on bad input.
    """
    from xtal.app.refine import refine
    from xtal.crystal.library import load_phase
    from xtal.io.instprm import read_instrument
    from xtal.io.patterns import read_pattern
    from xtal.io.refine_output import check_output_dir, format_log, write_refinement
    from xtal.refine.recipe import load_recipe

    err = console or Console(stderr=True)
    started = _dt.datetime.now().astimezone()
    # -- validate everything first: nothing is computed in vain, nothing half-written
    if req.fcj not in FCJ_CHOICES:
        raise InputError(f"--fcj must be one of {', '.join(FCJ_CHOICES)}, not '{req.fcj}'")
    if req.two_theta_range is not None and not req.two_theta_range[0] < req.two_theta_range[1]:
        raise InputError(f"--range {req.two_theta_range[0]:g} {req.two_theta_range[1]:g}:"
                         " LO must be below HI")
    for lo, hi in req.exclude:
        if not lo < hi:
            raise InputError(f"--exclude {lo:g} {hi:g}: LO must be below HI")
    if not req.phases:
        raise InputError("give at least one --phase")
    check_output_dir(req.out, req.force)
    pattern = read_pattern(req.data)[0]
    phases = [load_phase(p) for p in req.phases]
    instrument = read_instrument(req.instrument) if req.instrument is not None else None
    recipe = _load_recipe(load_recipe, req.recipe)

    if req.two_theta_range is not None or req.exclude:
        lo, hi = req.two_theta_range or (None, None)
        pattern.select(lo, hi, list(req.exclude))  # raises if no points are left

    # -- refine, with stage / cycle / Rwp on stderr.  The display starts with the first
    # cycle, so an error found while the model is set up stays a one-line message.
    bar = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                   TextColumn("cycle {task.fields[cycle]}"),
                   TextColumn("Rwp {task.fields[rwp]}"), TimeElapsedColumn(), console=err)
    tasks: list = []

    def progress(stage: str, cycle: int, rwp: float) -> None:
        if not tasks:
            bar.start()
            tasks.append(bar.add_task(stage, cycle="-", rwp="-"))
        bar.update(tasks[0], description=stage, cycle=str(cycle), rwp=f"{100 * rwp:.3f} %")

    try:
        result = refine(pattern, phases, instrument, recipe,
                        two_theta_range=req.two_theta_range, exclude=list(req.exclude),
                        fix=list(req.fix), constraints=list(req.constraints), fcj=req.fcj,
                        progress=progress)
    finally:
        if tasks:
            bar.stop()
    finished = _dt.datetime.now().astimezone()
    outputs = write_refinement(result, req.out, force=req.force,
                               log_text=format_log(result, command, started, finished))
    return result, outputs


def _load_recipe(load_recipe, name: str | None):
    # a recipe with a table missing a required key is bad input, not a crash
    try:
        return load_recipe(name)
    except XtalError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"recipe is malformed ({type(exc).__name__}: {exc})", name) from None


def summary_table(result) -> Table:
    """Cells, weight fractions and R_Bragg of each phase, Rwp in the title."""
    from xtal.io.report_md import format_value as _v
    from xtal.io.report_md import format_wt_percent as _wt

    table = Table(title=f"Rwp = {100 * result.rwp:.2f} %   GOF = {result.gof:.2f}"
                        f"   ({result.n_points} points, {result.n_parameters} parameters)")
    for col in ("phase", "a (Å)", "b (Å)", "c (Å)", "α β γ (°)", "V (Å³)", "wt%", "R_Bragg (%)"):
        table.add_column(col, justify="left" if col == "phase" else "right")
    for name, pr in result.phases.items():
        c = pr.cell
        table.add_row(name, _v(c["a"]), _v(c["b"]), _v(c["c"]),
                      " ".join(_v(c[k]) for k in ("alpha", "beta", "gamma")), _v(c["volume"]),
                      _wt(pr.weight_fraction), f"{100 * pr.r_bragg:.2f}")
    return table


class _RefineCommand(TyperCommand):
    """Lets ``--exclude LO HI`` take two values (typer cannot declare a list of pairs).

    The pair is rewritten to ``--exclude LO --exclude HI`` before parsing, so the
    option is a plain ``list[float]`` that :func:`_pairs` groups again.
    """

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(args):
            tok = args[i]
            if tok == "--":  # everything after is positional
                out += args[i:]
                break
            if tok == "--exclude" and i + 2 < len(args):
                out += ["--exclude", args[i + 1], "--exclude", args[i + 2]]
                i += 3
                continue
            if tok.startswith("--exclude=") and i + 1 < len(args):
                out += [tok, "--exclude", args[i + 1]]
                i += 2
                continue
            out.append(tok)
            i += 1
        return super().parse_args(ctx, out)


@app.command("refine", cls=_RefineCommand)
def refine_command(
    data: Path = typer.Argument(..., help="Measured pattern (any format xtal reads)."),
    phase: list[str] = typer.Option(..., "--phase", "-p",
                                    help="Starting phase: shipped/registered name or CIF; repeat."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (created)."),
    instrument: Path | None = typer.Option(
        None, "--instrument", "-i", help="GSAS-II .instprm or GSAS .prm (default Cu Kα)."),
    recipe: str | None = typer.Option(
        None, "--recipe", "-r", help="Recipe TOML file or shipped name (default: standard)."),
    range_: tuple[float, float] | None = typer.Option(
        None, "--range", help="Refine only LO ≤ 2θ ≤ HI (degrees)."),
    exclude: list[float] | None = typer.Option(
        None, "--exclude", metavar="LO HI", help="Leave out LO ≤ 2θ ≤ HI (degrees); repeatable."),
    fix: list[str] | None = typer.Option(
        None, "--fix", help="Never refine these parameters (dot path, wildcards); repeatable."),
    constraint: list[str] | None = typer.Option(
        None, "--constraint",
        help="Extra linear constraint, e.g."
             " 'phases.P.sites.B1.occ + phases.P.sites.B2.occ = 2/3'; repeatable."),
    fcj: str = typer.Option("gsas2", "--fcj", help="Axial-divergence quadrature: gsas2 or exact."),
    force: bool = typer.Option(False, "--force", help="Replace the contents of a non-empty DIR."),
) -> None:
    """Rietveld refinement: writes result.json, CIFs, fit.png, report.md/.html, refine.log."""
    req = RefineRequest(
        data=data, phases=tuple(phase), out=out, instrument=instrument, recipe=recipe,
        two_theta_range=range_, exclude=tuple(_pairs(exclude)), fix=tuple(fix or ()),
        constraints=tuple(constraint or ()), fcj=fcj, force=force)
    command = shlex.join(["xtal", *sys.argv[1:]])
    result, outputs = run_refinement(req, command)
    console = Console()
    if not console.is_terminal:  # a log file: wide enough for the table
        console = Console(width=140)
    console.print(summary_table(result))
    console.print(f"outputs in [bold]{outputs.directory}[/bold]: "
                  + ", ".join(p.name for p in outputs.files), highlight=False)
    for w in result.warnings:
        print(f"xtal: warning: {w}", file=sys.stderr)
    if result.stopped:
        # outputs are written (last good state), but the caller must know it is not a result
        print(f"xtal: refinement stopped: {result.stopped}", file=sys.stderr)
        raise SystemExit(1)  # typer.Exit is swallowed by main()'s standalone_mode=False


def _pairs(values: list[float] | None) -> list[tuple[float, float]]:
    """Group the flattened ``--exclude`` values (see :class:`_RefineCommand`) into pairs."""
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
    from xtal.io.files import check_writable
    from xtal.io.plots import check_plot_path, plot_fit
    from xtal.io.refine_output import FIT_PNG, REPORT_MD
    from xtal.io.report_md import write_report
    from xtal.refine.result import Result

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
        from xtal.io.report_html import write_report_html

        written += write_report_html(where, force=True)
    Console(stderr=True).print("wrote " + ", ".join(str(p) for p in written), highlight=False)
