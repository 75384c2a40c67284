"""Files of ``xtal compare``: ``compare.md``, ``compare.json`` and the overlay picture.

The overlay draws each phase's simulated pattern (peak height 100) offset above the
next, one row of hkl tick marks per phase below, and a marker over every
distinguishing peak (:mod:`xtal.analysis.compare`).  :func:`overlay_svg` gives the
same figure as SVG text for the HTML report.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xtal.errors import InputError
from xtal.io.plots import figure_svg, new_figure, save_figure
from xtal.util.files import atomic_write

if TYPE_CHECKING:  # the value written; io depends on no analysis at run time
    from matplotlib.figure import Figure

    from xtal.analysis.compare import Comparison

COMPARE_MD = "compare.md"
COMPARE_JSON = "compare.json"
OVERLAY_PNG = "overlay.png"

_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")


def _figure(comp: Comparison) -> Figure:
    names = list(comp.patterns)
    n = len(names)
    fig = new_figure((10, 3.0 + 1.6 * n))
    ax, axt = fig.subplots(2, 1, sharex=True,
                           gridspec_kw={"height_ratios": [4 + n, 0.45 * n + 0.4]})
    offset = 115.0  # each pattern peaks at 100: stacked with a small gap
    for i, name in enumerate(names):
        colour = _COLOURS[i % len(_COLOURS)]
        pat = comp.patterns[name]
        base = (n - 1 - i) * offset  # first phase on top, as listed in the table
        ax.plot(pat.x, pat.y + base, color=colour, lw=0.8, label=name)
        marks = [p for p in comp.distinguishing if p.phase == name]
        if marks:
            tt = np.array([p.two_theta for p in marks])
            y = np.interp(tt, pat.x, pat.y) + base + 6.0
            ax.plot(tt, y, linestyle="none", marker="v", markersize=4, color=colour)
        peaks = comp.peaks.get(name, ())
        ticks = [p.two_theta for p in peaks]
        axt.vlines(ticks, i - 0.35, i + 0.35, color=colour, lw=0.8)
    lo, hi, _ = comp.two_theta
    ax.set_xlim(lo, hi)
    ax.set_ylabel("Intensity (each phase scaled to 100, offset)")
    ax.set_title("Simulated patterns; ▼ distinguishing reflections", fontsize=10)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    axt.set_yticks(range(n))
    axt.set_yticklabels(names, fontsize=8)
    axt.set_ylim(-0.6, n - 0.4)
    axt.invert_yaxis()
    axt.set_xlabel("2θ (degrees)")
    fig.tight_layout()
    return fig


def plot_overlay(comp: Comparison, path: str | os.PathLike[str]) -> Path:
    """Write the overlay figure to ``path`` atomically; the suffix picks the format."""
    return save_figure(_figure(comp), path)


def overlay_svg(comp: Comparison) -> str:
    """The overlay figure as SVG text (text drawn as paths: no fonts needed to view it)."""
    return figure_svg(_figure(comp))


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Lines of a Markdown table (``|`` in cells escaped)."""

    def cell(v: str) -> str:
        return v.replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return lines + [""]


def format_compare_md(comp: Comparison, picture: str | None = OVERLAY_PNG) -> str:
    """Markdown text of a comparison: the table, notes, distinguishing reflections, picture."""
    lo, hi, step = comp.two_theta
    lam = comp.instrument.lam1
    out = ["# Phases side by side", ""]
    out += md_table(*comp.table())
    notes = [f"{s.name}: {n}" for s in comp.phases for n in s.notes]
    if notes:
        out += [f"- {n}" for n in notes] + [""]
    out += [
        "## Distinguishing reflections",
        "",
        f"Peaks of one phase more than one instrumental FWHM from every peak of the others"
        f" (peaks under {100 * comp.other_intensity:g} % of their phase's strongest not"
        f" counted), above {100 * comp.min_intensity:g} % of their phase's strongest;"
        f" 2θ for λ = {lam:.5f} Å, range {lo:g}–{hi:g}° (step {step:g}°).",
        "",
    ]
    header, rows = comp.distinguishing_table()
    out += md_table(header, rows) if rows else ["None: every peak overlaps another phase.", ""]
    if picture:
        out += [f"![simulated patterns]({picture})", ""]
    return "\n".join(out).rstrip() + "\n"


def write_comparison(comp: Comparison, out_dir: str | os.PathLike[str],
                     force: bool = False) -> list[Path]:
    """Write ``compare.md``, ``compare.json`` and ``overlay.png`` into ``out_dir``.

    A missing directory is created; a non-empty one is refused unless ``force``
    (then the three files are replaced, other files are left alone).  Each file is
    written atomically.
    """
    p = Path(out_dir)
    if p.exists() and not p.is_dir():
        raise InputError("output path exists and is not a directory", p)
    if p.is_dir() and any(p.iterdir()) and not force:
        raise InputError("output directory is not empty; use --force to overwrite", p)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output directory ({err.strerror})", p) from None
    return [
        atomic_write(p / COMPARE_JSON, comp.to_json() + "\n"),
        plot_overlay(comp, p / OVERLAY_PNG),
        atomic_write(p / COMPARE_MD, format_compare_md(comp)),
    ]
