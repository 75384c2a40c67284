"""``xtal series``: one recipe over many patterns (see :mod:`xtal.app.series`)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from xtal.cli import app
from xtal.cli.ranges import RANGE_METAVAR, MultiValueCommand, two_theta_range


@app.command("series", cls=MultiValueCommand)
def series_command(
    data: list[str] = typer.Argument(
        ..., help="Pattern files (PATH#N for one scan) or shell patterns such as 'OH_*.fxye'."),
    phase: list[str] = typer.Option(..., "--phase", "-p",
                                    help="Phase: shipped/registered name or CIF; repeat."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    instrument: Path | None = typer.Option(None, "--instrument", "-i",
                                           help="GSAS-II .instprm or GSAS .prm."),
    recipe: str | None = typer.Option(None, "--recipe", "-r",
                                      help="Recipe TOML file or shipped name."),
    range_: list[float] | None = typer.Option(
        None, "--range", metavar=RANGE_METAVAR,
        help="Refine only LO ≤ 2θ ≤ HI (degrees), e.g. --range 10 80."),
    mode: str = typer.Option("sequential", "--mode",
                             help="sequential (each from the previous) or independent."),
    workers: int = typer.Option(1, "--workers", "-w", help="Local worker processes (Dask)."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Address of a running Dask scheduler (tcp://host:8786)."),
    chunks: int | None = typer.Option(
        None, "--chunks", help="Sequential: contiguous chunks run in parallel (default: workers)."),
    start: Path | None = typer.Option(None, "--start", help="Start from this result directory."),
    metadata: Path | None = typer.Option(
        None, "--metadata", help="CSV: file name, then columns (e.g. temperature)."),
    order_by: str | None = typer.Option(
        None, "--order-by", help="Metadata column ordering a sequential series."),
    engine: str = typer.Option("native", "--engine", help="native or gsas2."),
    plots: bool = typer.Option(False, "--plots", help="Also write fit.png and report.html."),
    force: bool = typer.Option(False, "--force", help="Refit patterns already refined in DIR."),
) -> None:
    """Refine a series of patterns: a result directory per pattern, series.csv/.parquet/.html."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from xtal.app.series import refine_series

    err = Console(stderr=True)
    counts = {"ok": 0, "stopped": 0, "failed": 0}
    bar = Progress(TextColumn("[bold]series"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("ok {task.fields[ok]} · stopped {task.fields[stopped]} · "
                              "failed {task.fields[failed]}"),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=err)
    task = bar.add_task("series", total=None, ok=0, stopped=0, failed=0)

    def on_outcome(outcome, done: int, total: int) -> None:
        counts[outcome.status] += 1
        bar.update(task, completed=done, total=total, **counts)
        if outcome.status != "ok":
            why = outcome.error or (outcome.result.stopped if outcome.result else "")
            bar.console.print(f"{outcome.label}: {outcome.status}: {why}", highlight=False)

    tt = two_theta_range(range_)
    options = {"two_theta_range": tt} if tt else {}
    with bar:
        series = refine_series(
            data, phase, instrument, recipe, mode=mode, out=out, workers=workers,
            scheduler=scheduler, chunks=chunks, start=start, metadata=metadata,
            order_by=order_by, force=force, plots=plots, engine=engine, options=options,
            on_outcome=on_outcome,
        )
    ok = sum(o.status == "ok" for o in series.outcomes.values())
    Console().print(f"{ok} of {len(series.patterns)} patterns refined; table and trends in "
                    f"[bold]{out}[/bold]: " + ", ".join(p.name for p in series.files),
                    highlight=False)
    if ok < len(series.patterns):
        raise SystemExit(1)  # the table says which and why
    sys.stdout.flush()
