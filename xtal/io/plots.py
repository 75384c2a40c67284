"""Pictures of patterns as files: simulated patterns with hkl ticks, Rietveld fits.

The Rietveld figure itself is :meth:`xtal.refine.result.Result.plot` (drawn from plain
arrays by :mod:`xtal.util.figures`, so that a notebook and ``fit.png`` show one
drawing); this module writes it.  matplotlib's object-oriented API (a
:class:`~matplotlib.figure.Figure` saved by the backend of the file's format: Agg for
PNG), without pyplot: no global figure state, no GUI backend, and a faster import.
Files are written atomically.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError
from xtal.util.figures import COLOURS, figure_svg, new_figure
from xtal.util.files import atomic_write_with, check_writable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from xtal.refine.result import Result

__all__ = ["COLOURS", "DPI", "check_plot_path", "figure_svg", "fit_figure", "fit_pictures",
           "new_figure", "plot_fit", "plot_pattern", "png_bytes", "save_figure"]
DPI = 150


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` to ``path`` atomically; the suffix picks the format (PNG at 150 dpi)."""
    return atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=DPI))


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
    return png_bytes(fig), figure_svg(fig)


def png_bytes(fig: Figure) -> bytes:
    """``fig`` as PNG bytes at :data:`DPI` (as ``fit.png`` is written)."""
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=DPI)
    return png.getvalue()


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

    :meth:`xtal.refine.result.Result.plot` (drawn by
    :func:`xtal.util.figures.rietveld_figure`): observed points, calculated and
    background lines, a row of hkl ticks per phase, the difference curve below; the
    legend names each phase with its weight fraction of the crystalline part.
    """
    return result.plot(title)
