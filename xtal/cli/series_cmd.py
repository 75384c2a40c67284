"""``xtal series``: one recipe over many patterns (see :mod:`xtal.app.series`)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from xtal.cli import app
from xtal.cli.ranges import RANGE_METAVAR, MultiValueCommand, two_theta_range
from xtal.cli.tables import table_console

#: metadata columns shown in the terminal table when the files state them (all are in
#: series.csv): the temperature and the start of the measurement
SHOWN_METADATA = {"temperature_K": "T (K)", "temperature_setpoint_K": "set-point (K)",
                  "time": "time"}


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
    from xtal.util.memory import keep_freed_memory

    keep_freed_memory()  # this process refines (util.memory); Dask workers do it in fit_one
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
    given = list(dict.fromkeys(k for p in series.patterns for k in p.given))
    table_console().print(summary_table(series.to_dataframe(), given))
    Console().print(f"{ok} of {len(series.patterns)} patterns refined; table and trends in "
                    f"[bold]{out}[/bold]: " + ", ".join(p.name for p in series.files),
                    highlight=False)
    if ok < len(series.patterns):
        raise SystemExit(1)  # the table says which and why
    sys.stdout.flush()


def summary_table(df, extra: list[str] | None = None):
    """One row per pattern: its metadata (temperature, time and the ``--metadata`` columns),
    status, Rwp, GOF, and per phase the cell volume and weight fraction (of the crystalline
    part) with esds; every refined value is in series.csv."""
    import math

    from rich.table import Table

    from xtal.util.esd import format_esd

    def num(v) -> float | None:
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    def val(row, key: str, scale: float = 1.0, decimals: int = 4) -> str:
        v, e = num(row.get(key)), num(row.get(f"{key}_esd"))
        if v is None:
            return "—"
        return format_esd(v * scale, None if e is None else e * scale, decimals)

    meta = {k: SHOWN_METADATA.get(k, k) for k in [*SHOWN_METADATA, *(extra or [])]
            if k in df.columns and df[k].notna().any()}
    phases = [c[len("phases."):-len(".weight_fraction")] for c in df.columns
              if c.startswith("phases.") and c.endswith(".weight_fraction")]
    table = Table(title="series (every refined value with its esd: series.csv)")
    table.add_column("pattern")
    for title in meta.values():
        table.add_column(title, justify="right")
    table.add_column("status")
    table.add_column("Rwp (%)", justify="right")
    table.add_column("GOF", justify="right")
    for ph in phases:
        table.add_column(f"{ph} V (Å³)", justify="right")
        if len(phases) > 1:
            table.add_column(f"{ph} wt% (of crystalline part)", justify="right")
    for row in df.to_dict("records"):
        cells = [str(row["pattern"])]
        for k in meta:
            v = row.get(k)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                cells.append("—")
            elif isinstance(v, float):
                cells.append(f"{v:.2f}")
            else:  # an ISO 8601 time to the second; other text as it is
                cells.append(str(v)[:19] if k == "time" else str(v))
        rwp, gof = num(row.get("rwp")), num(row.get("gof"))
        cells += [str(row["status"]), "—" if rwp is None else f"{100 * rwp:.2f}",
                  "—" if gof is None else f"{gof:.2f}"]
        for ph in phases:
            cells.append(val(row, f"phases.{ph}.cell.volume", decimals=3))
            if len(phases) > 1:
                cells.append(val(row, f"phases.{ph}.weight_fraction", 100.0, 2))
        table.add_row(*cells)
    return table
