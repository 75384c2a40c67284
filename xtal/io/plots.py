"""Pictures of patterns: simulated patterns with hkl ticks, Rietveld fits.

matplotlib's object-oriented API (a :class:`~matplotlib.figure.Figure` saved by the
backend of the file's format: Agg for PNG), without pyplot: no global figure state,
no GUI backend, and a faster import.  Files are written atomically.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError
from xtal.util.files import atomic_write_with, check_writable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from xtal.refine.result import Result

COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")
DPI = 150


def new_figure(figsize: tuple[float, float]) -> Figure:
    """An empty figure that belongs to no GUI and no pyplot state."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` to ``path`` atomically; the suffix picks the format (PNG at 150 dpi)."""
    return atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=DPI))


def figure_svg(fig: Figure) -> str:
    """``fig`` as SVG text, text drawn as paths (no font is needed to view it)."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path"}):
        fig.savefig(buf, format="svg")
    return buf.getvalue().decode("utf-8")


def check_plot_path(path: str | os.PathLike[str], force: bool = False) -> Path:
    """:func:`check_writable`, and the suffix must name a format matplotlib can write.

    Checked before any output is written, so that an unknown picture format does
    not leave the other outputs of a command behind.
    """
    p = check_writable(path, force)
    fmt = p.suffix.lstrip(".").lower()
    from matplotlib.backend_bases import FigureCanvasBase  # the formats savefig can write

    supported = FigureCanvasBase.get_supported_filetypes()
    if fmt not in supported:
        raise InputError(
            f"cannot write a picture with suffix '{p.suffix}'"
            f" (use one of: {', '.join('.' + k for k in sorted(supported))})",
            p,
        )
    return p


def plot_pattern(
    pattern: Pattern,
    path: str | os.PathLike[str],
    title: str | None = None,
    force: bool = False,
    min_tick_intensity: float = 1e-3,
) -> Path:
    """Plot a (simulated) pattern with one row of hkl tick marks per phase.

    Ticks mark the Kα1 position of every reflection whose intensity is above
    ``min_tick_intensity`` × the strongest of its phase.
    """
    p = check_plot_path(path, force)
    n = max(len(pattern.reflections), 1)
    fig = new_figure((10, 5.5))
    ax, axt = fig.subplots(2, 1, sharex=True,
                           gridspec_kw={"height_ratios": [5, 0.35 * n + 0.3]})
    ax.plot(pattern.x, pattern.y, color="black", lw=0.8, label="total")
    multi = len(pattern.reflections) > 1
    for i, (name, refl) in enumerate(pattern.reflections.items()):
        colour = COLOURS[i % len(COLOURS)]
        if multi and name in pattern.components:
            ax.plot(
                pattern.x,
                pattern.components[name] + pattern.components.get("background", 0),
                color=colour,
                lw=0.7,
                alpha=0.8,
                label=name,
            )
        _ticks(axt, refl, pattern.x, i, colour, name, min_tick_intensity)
    ax.set_ylabel("Intensity (counts)")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    if title or pattern.name:
        ax.set_title(title or pattern.name)
    axt.set_xlabel("2θ (degrees)")
    axt.set_yticks(range(n))
    axt.set_yticklabels(list(pattern.reflections) or [""], fontsize=8)
    axt.set_ylim(-0.6, n - 0.4)
    axt.invert_yaxis()
    ax.set_xlim(pattern.x[0], pattern.x[-1])
    fig.tight_layout()
    return save_figure(fig, p)


def _ticks(ax, refl, x, row, colour, name, min_rel) -> None:
    tth = refl.columns.get("two_theta")
    if tth is None:
        return
    inten = refl.columns.get("intensity", np.ones_like(tth))
    keep = (tth >= x[0]) & (tth <= x[-1]) & (inten >= min_rel * max(inten.max(), 1e-300))
    ax.vlines(tth[keep], row - 0.35, row + 0.35, color=colour, lw=0.8)


def fit_pictures(result: Result) -> tuple[bytes, str]:
    """The Rietveld figure of ``result`` as PNG bytes (``fit.png``) and as SVG text.

    One figure gives both, so the page and the picture cannot differ.
    """
    fig = fit_figure(result)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=DPI)
    return png.getvalue(), figure_svg(fig)


def plot_fit(
    result: Result,
    path: str | os.PathLike[str],
    title: str | None = None,
    force: bool = False,
    figure: Figure | None = None,
) -> Path:
    """Write the Rietveld figure of a refinement (:func:`fit_figure`) to ``path``.

    Parameters
    ----------
    result
        The refinement (curves and per-phase reflections are read from it).
    path
        Output picture; the suffix chooses the format (``.png``, ``.svg``, ``.pdf``...).
    title
        Figure title (default: none).
    force
        Overwrite an existing file.
    figure
        The figure of ``result`` already made by :func:`fit_figure` (so that one
        figure gives both ``fit.png`` and the report's SVG); default: made here.
    """
    p = check_plot_path(path, force)
    return save_figure(figure if figure is not None else fit_figure(result, title), p)


def fit_figure(result: Result, title: str | None = None) -> Figure:
    """The Rietveld figure of a refinement, laid out as in a paper.

    Observed points, calculated and background lines, one row of hkl tick marks
    per phase (refined Kα1 positions) below the pattern and the difference curve
    offset below the ticks, all on one intensity axis; the legend names each phase
    with its weight fraction and Rwp sits in the upper left corner.
    """
    from xtal.util.esd import format_esd

    cv = result.curves
    x, yo, yc, yb = _break_gaps(cv.x, cv.observed, cv.calculated, cv.background)
    diff = yo - yc
    top = float(max(np.nanmax(yo), np.nanmax(yc)))
    low = float(min(np.nanmin(yo), np.nanmin(yc), np.nanmin(yb), 0.0))
    span = max(top - low, 1e-12)
    # stacked below the pattern: a gap, one tick row per phase, a gap, the difference
    row = 0.045 * span
    tick_top = low - 0.03 * span
    n_rows = max(len(result.phases), 1)
    diff_offset = tick_top - n_rows * row - 0.03 * span - float(np.nanmax(diff))

    fig = new_figure((10, 6))
    ax = fig.subplots()
    ax.plot(x, yo, linestyle="none", marker="o", markersize=1.6, markerfacecolor="none",
            markeredgewidth=0.5, color="black", label="observed")
    ax.plot(x, yc, color="tab:red", lw=0.8, label="calculated")
    ax.plot(x, yb, color="tab:green", lw=0.7, label="background")
    ax.plot(x, diff + diff_offset, color="tab:blue", lw=0.6, label="difference (obs − calc)")
    ax.axhline(diff_offset, color="tab:blue", lw=0.3, alpha=0.5)
    for i, (name, pr) in enumerate(result.phases.items()):
        colour = COLOURS[(i + 3) % len(COLOURS)]
        tth = np.asarray(pr.reflections.get("two_theta", []), float)
        tth = tth[(tth >= np.nanmin(x)) & (tth <= np.nanmax(x))]
        y0 = tick_top - (i + 0.5) * row
        wf = pr.weight_fraction
        wf_text = (f"{format_esd(100 * wf.value, None if wf.esd is None else 100 * wf.esd)} wt%"
                   if np.isfinite(wf.value) else "wt% n/a")
        ax.vlines(tth, y0 - 0.35 * row, y0 + 0.35 * row, color=colour, lw=0.7,
                  label=f"{name} ({wf_text})")
    ax.text(0.015, 0.97, f"$R_{{wp}}$ = {100 * result.rwp:.2f} %\nGOF = {result.gof:.2f}",
            transform=ax.transAxes, va="top", ha="left", fontsize=9)
    if result.stopped:
        ax.text(0.015, 0.85, "refinement stopped", transform=ax.transAxes, va="top",
                ha="left", fontsize=9, color="tab:red")
    ax.set_xlim(np.nanmin(x), np.nanmax(x))
    ax.set_ylim(diff_offset + float(np.nanmin(diff)) - 0.03 * span, top + 0.05 * span)
    ax.set_xlabel("2θ (degrees)")
    ax.set_ylabel("Intensity (counts)")
    ax.legend(loc="upper right", fontsize=8, frameon=False, markerscale=3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def _break_gaps(x: np.ndarray, *ys: np.ndarray) -> tuple[np.ndarray, ...]:
    """Insert a NaN point in every gap (excluded region) so that lines do not bridge it."""
    if x.size < 3:
        return (x, *ys)
    step = np.diff(x)
    gaps = np.nonzero(step > 3 * np.median(step))[0]
    if gaps.size == 0:
        return (x, *ys)
    xs = np.insert(x.astype(float), gaps + 1, np.nan)
    return (xs, *(np.insert(y.astype(float), gaps + 1, np.nan) for y in ys))
