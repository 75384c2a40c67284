"""Pictures of patterns: simulated patterns with hkl ticks, Rietveld fits.

matplotlib with the non-interactive Agg backend; files are written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.io.files import atomic_write_with, check_writable

COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
    p = check_writable(path, force)
    plt = _pyplot()
    n = max(len(pattern.reflections), 1)
    fig, (ax, axt) = plt.subplots(
        2, 1, sharex=True, figsize=(10, 5.5), gridspec_kw={"height_ratios": [5, 0.35 * n + 0.3]}
    )
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
    atomic_write_with(p, lambda tmp: fig.savefig(tmp, dpi=150))
    plt.close(fig)
    return p


def _ticks(ax, refl, x, row, colour, name, min_rel) -> None:
    tth = refl.columns.get("two_theta")
    if tth is None:
        return
    inten = refl.columns.get("intensity", np.ones_like(tth))
    keep = (tth >= x[0]) & (tth <= x[-1]) & (inten >= min_rel * max(inten.max(), 1e-300))
    ax.vlines(tth[keep], row - 0.35, row + 0.35, color=colour, lw=0.8)
