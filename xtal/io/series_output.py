"""Files of a refined series: ``series.csv``, ``series.parquet``, ``series.png``, ``series.html``.

The table has one row per pattern (:mod:`xtal.app.series_table` says which columns);
the trend figure plots cell lengths, cell volumes, weight fractions and Rwp against the
ordering column (sample temperature when known, else the pattern index) with esd
bars; the HTML page is self-contained (the figure embedded, the table inline) so it
can be mailed or archived as one file.  Every file is written atomically.
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xtal.util.files import atomic_write

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

_CELL = re.compile(r"^phases\.(.+)\.cell\.(a|b|c|volume)$")
_WF = re.compile(r"^phases\.(.+)\.weight_fraction$")


def _x(df: pd.DataFrame, column: str | None) -> tuple[np.ndarray, str]:
    if column and column in df and np.issubdtype(df[column].dtype, np.number):
        label = "T (K)" if column == "temperature_K" else column
        return df[column].to_numpy(float), label
    return np.arange(len(df), dtype=float), "pattern (index in the series)"


def trend_figure(df: pd.DataFrame, x_column: str | None = None) -> Figure:
    """Cells, volumes, weight fractions and Rwp against ``x_column`` (esd bars)."""
    from matplotlib.figure import Figure

    x, xlabel = _x(df, x_column)
    panels = [
        ("cell lengths (Å)", [c for c in df if _CELL.match(c) and not c.endswith("volume")]),
        ("cell volume (Å³)", [c for c in df if _CELL.match(c) and c.endswith("volume")]),
        ("weight fraction", [c for c in df if _WF.match(c)]),
        ("Rwp (%)", ["rwp"] if "rwp" in df else []),
    ]
    panels = [(t, cols) for t, cols in panels if cols]
    fig = Figure(figsize=(7.0, 2.2 * max(len(panels), 1)), constrained_layout=True)
    axes = fig.subplots(max(len(panels), 1), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (title, cols) in zip(axes, panels, strict=False):
        for col in cols:
            y = df[col].to_numpy(float) * (100.0 if col == "rwp" else 1.0)
            err = df.get(f"{col}_esd")
            yerr = None if err is None else err.to_numpy(float)
            ax.errorbar(x, y, yerr=yerr, marker="o", ms=3, lw=1, capsize=2,
                        label=col.removeprefix("phases."))
        ax.set_ylabel(title)
        if len(cols) > 1 or title == "weight fraction":
            ax.legend(fontsize=7, loc="best")
    axes[-1].set_xlabel(xlabel)
    return fig


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return buf.getvalue()


def write_series(df: pd.DataFrame, out: Path, x_column: str | None) -> list[Path]:
    """Write the four series files into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path = atomic_write(out / "series.csv", df.to_csv(index=False))
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    pq_path = atomic_write(out / "series.parquet", buf.getvalue())
    png = _png(trend_figure(df, x_column))
    png_path = atomic_write(out / "series.png", png)
    page = _html(df, png)
    html_path = atomic_write(out / "series.html", page)
    return [csv_path, pq_path, png_path, html_path]


def _html(df: pd.DataFrame, png: bytes) -> str:
    ok = int((df.get("status") == "ok").sum()) if "status" in df else 0
    failed = df[df["status"] != "ok"] if "status" in df else df.iloc[0:0]
    problems = "".join(
        f"<li>{html.escape(str(r.pattern))}: {html.escape(str(r.status))} — "
        f"{html.escape(str(r.reason))}</li>"
        for r in failed.itertuples()
    )
    table = df.to_html(index=False, float_format=lambda v: f"{v:.6g}", na_rep="—")
    img = base64.b64encode(png).decode("ascii")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>xtal series</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>"
        f"<h1>Series refinement</h1><p>{ok} of {len(df)} patterns refined to the end.</p>"
        + (f"<ul>{problems}</ul>" if problems else "")
        + f"<img alt='trends' src='data:image/png;base64,{img}'>"
        + f"<h2>Table</h2>{table}</body></html>"
    )
