"""Figures from plain arrays: the Rietveld plot, drawn the same for a file and a notebook.

matplotlib's object-oriented API (a :class:`~matplotlib.figure.Figure` that belongs to
no pyplot state and no GUI), imported only when a figure is made.  Knows nothing of
xtal's objects: the caller hands over arrays and texts, so that
:meth:`xtal.refine.result.Result.plot` and ``fit.png`` (:mod:`xtal.io.plots`) are one
drawing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")


def new_figure(figsize: tuple[float, float]) -> Figure:
    """An empty figure that belongs to no GUI and no pyplot state."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def figure_svg(fig: Figure) -> str:
    """``fig`` as SVG text, text drawn as paths (no font is needed to view it)."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path"}):
        fig.savefig(buf, format="svg")
    return buf.getvalue().decode("utf-8")


def rietveld_figure(
    x: np.ndarray,
    observed: np.ndarray,
    calculated: np.ndarray,
    background: np.ndarray,
    ticks: Sequence[tuple[str, np.ndarray]],
    corner: Sequence[str] = (),
    alert: str | None = None,
    title: str | None = None,
) -> Figure:
    """A Rietveld plot laid out as in a paper.

    Observed points, calculated and background lines; below them one row of tick
    marks per phase and, offset below the ticks, the difference curve, all on one
    intensity axis (counts against 2θ in degrees).

    Parameters
    ----------
    x, observed, calculated, background
        The fitted points; a step over 3× the median (an excluded region) breaks the lines.
    ticks
        Per phase: its legend text and the 2θ of its reflections (ticks outside ``x``
        are dropped).
    corner
        Lines of text for the upper left corner (agreement factors, amounts).
    alert
        A red line below them (e.g. "refinement stopped").
    title
        Figure title.
    """
    xs, yo, yc, yb = _break_gaps(np.asarray(x, float), observed, calculated, background)
    diff = yo - yc
    top = float(max(np.nanmax(yo), np.nanmax(yc)))
    low = float(min(np.nanmin(yo), np.nanmin(yc), np.nanmin(yb), 0.0))
    span = max(top - low, 1e-12)
    # stacked below the pattern: a gap, one tick row per phase, a gap, the difference
    row = 0.045 * span
    tick_top = low - 0.03 * span
    diff_offset = tick_top - max(len(ticks), 1) * row - 0.03 * span - float(np.nanmax(diff))

    fig = new_figure((10, 6))
    ax = fig.subplots()
    ax.plot(xs, yo, linestyle="none", marker="o", markersize=1.6, markerfacecolor="none",
            markeredgewidth=0.5, color="black", label="observed")
    ax.plot(xs, yc, color="tab:red", lw=0.8, label="calculated")
    ax.plot(xs, yb, color="tab:green", lw=0.7, label="background")
    ax.plot(xs, diff + diff_offset, color="tab:blue", lw=0.6, label="difference (obs − calc)")
    ax.axhline(diff_offset, color="tab:blue", lw=0.3, alpha=0.5)
    lo_x, hi_x = float(np.nanmin(xs)), float(np.nanmax(xs))
    for i, (label, tth) in enumerate(ticks):
        t = np.asarray(tth, float)
        t = t[(t >= lo_x) & (t <= hi_x)]
        y0 = tick_top - (i + 0.5) * row
        tx, ty = _tick_path(t, y0 - 0.35 * row, y0 + 0.35 * row)
        ax.plot(tx, ty, color=COLOURS[(i + 3) % len(COLOURS)], lw=0.7, label=label,
                solid_capstyle="butt")
    if corner:
        ax.text(0.015, 0.97, "\n".join(corner), transform=ax.transAxes, va="top", ha="left",
                fontsize=9)
    if alert:
        ax.text(0.015, 0.97 - 0.045 * (len(corner) + 0.5), alert, transform=ax.transAxes,
                va="top", ha="left", fontsize=9, color="tab:red")
    ax.set_xlim(lo_x, hi_x)
    ax.set_ylim(diff_offset + float(np.nanmin(diff)) - 0.03 * span, top + 0.05 * span)
    ax.set_xlabel("2θ (degrees)")
    ax.set_ylabel("Intensity (counts)")
    ax.legend(loc="upper right", fontsize=8, frameon=False, markerscale=3)
    if title:
        ax.set_title(title)
    # fixed margins, wide enough for six-digit tick labels (matplotlib switches to an
    # offset beyond): tight_layout would measure every text first (0.05 s a figure)
    fig.subplots_adjust(left=0.1, right=0.985, bottom=0.085, top=0.94 if title else 0.975)
    return fig


def _tick_path(t: np.ndarray, y0: float, y1: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertical ticks at ``t`` from ``y0`` to ``y1`` as one NaN-separated line: one path
    in the SVG instead of one element per reflection."""
    tx = np.repeat(t, 3)
    tx[2::3] = np.nan
    ty = np.tile([y0, y1, np.nan], t.size)
    return tx, ty


def _break_gaps(x: np.ndarray, *ys: np.ndarray) -> tuple[np.ndarray, ...]:
    """Insert a NaN point in every gap (excluded region) so that lines do not bridge it."""
    ys = tuple(np.asarray(y, float) for y in ys)
    if x.size < 3:
        return (x, *ys)
    gaps = np.nonzero(np.diff(x) > 3 * np.median(np.diff(x)))[0]
    if gaps.size == 0:
        return (x, *ys)
    return tuple(np.insert(a, gaps + 1, np.nan) for a in (x, *ys))
