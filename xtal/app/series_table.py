"""The table of a series and its files: one row per pattern, in the series' order.

Columns: ``pattern`` (label), ``file``, every metadata key, ``status`` (ok, stopped,
failed), ``reason``, ``seed`` (the pattern the fit started from), ``seconds``,
``rwp``, ``gof``, then for every parameter refined in any pattern its value and
``<name>_esd``, the cell volumes and the weight fractions with their esds.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xtal.app.series_exec import FitOutcome

if TYPE_CHECKING:
    import pandas as pd

    from xtal.app.series import SeriesResult


def _row(p, outcome: FitOutcome | None) -> dict[str, Any]:
    row: dict[str, Any] = {"pattern": p.label, "file": p.source, **p.metadata}
    if outcome is None:
        row.update(status="not run", reason="")
        return row
    row.update(status=outcome.status, reason=outcome.error or (
        outcome.result.stopped if outcome.result is not None and outcome.result.stopped else ""
    ), seed=outcome.seed or "", seconds=round(outcome.seconds, 3))
    res = outcome.result
    if res is None:
        return row
    row.update(rwp=res.rwp, gof=res.gof)
    for name, v in res.parameters.items():
        if v.esd is not None:
            row[name] = v.value
            row[f"{name}_esd"] = v.esd
    for name, ph in res.phases.items():
        vol = ph.cell["volume"]
        row[f"phases.{name}.cell.volume"] = vol.value
        row[f"phases.{name}.cell.volume_esd"] = vol.esd
        row[f"phases.{name}.weight_fraction"] = ph.weight_fraction.value
        row[f"phases.{name}.weight_fraction_esd"] = ph.weight_fraction.esd
    return row


def series_dataframe(series: SeriesResult) -> pd.DataFrame:
    """The series table (module docstring) as a pandas DataFrame."""
    import pandas as pd

    rows = [_row(p, series.outcomes.get(p.label)) for p in series.patterns]
    return pd.DataFrame(rows)


def write_pattern_dir(outcome: FitOutcome, where: Path, plots: bool) -> None:
    """The pattern's result directory, as ``xtal refine`` writes it (replaced atomically)."""
    from xtal.io.refine_output import format_log, write_refinement

    assert outcome.result is not None
    now = _dt.datetime.now().astimezone()
    log = format_log(outcome.result, f"xtal series (pattern {outcome.label})", now, now)
    write_refinement(outcome.result, where, log_text=log, force=True, plots=plots)


def write_series_files(series: SeriesResult, out: Path) -> list[Path]:
    """``series.csv``, ``series.parquet``, ``series.png`` and ``series.html`` in ``out``."""
    from xtal.io.series_output import write_series

    return write_series(series_dataframe(series), out, series.order_by)
