"""Files of ``xtal compare``: ``compare.md``, ``compare.json``, the overlay and the fits.

The overlay draws each phase's simulated pattern (peak height 100) offset above the
next, a measured pattern above them when one is given (its range above its lowest
point scaled to 100), one row of hkl tick marks per phase below, and a marker over
every distinguishing peak (:mod:`xtal.analysis.compare`).  :func:`overlay_svg` gives
the same figure as SVG text for the HTML report.  When fits of several models to one
pattern are compared, ``fits.png`` shows the observed pattern with each fit's
calculated curve, each fit's difference curve on one scale below, and ticks at the
reflections only a fit's own phases have (:mod:`xtal.analysis.fits`).
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
FITS_PNG = "fits.png"
#: rows of the table of reflections only one fit has, in compare.md (all are in the JSON)
MD_EXTRA_ROWS = 40

_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")


def _figure(comp: Comparison) -> Figure:
    names = list(comp.patterns)
    n = len(names)
    fig = new_figure((10, 3.0 + 1.6 * (n + (comp.measured is not None))))
    ax, axt = fig.subplots(2, 1, sharex=True,
                           gridspec_kw={"height_ratios": [4 + n, 0.45 * n + 0.4]})
    offset = 115.0  # each pattern peaks at 100: stacked with a small gap
    if comp.measured is not None:
        _measured(ax, comp, n * offset)
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
    ax.set_title(("Measured (black) and simulated" if comp.measured is not None else "Simulated")
                 + " patterns; ▼ distinguishing reflections", fontsize=10)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    axt.set_yticks(range(n))
    axt.set_yticklabels(names, fontsize=8)
    axt.set_ylim(-0.6, n - 0.4)
    axt.invert_yaxis()
    axt.set_xlabel("2θ (degrees)")
    fig.tight_layout()
    return fig


def _measured(ax, comp: Comparison, base: float) -> None:
    """The measured pattern in the range, its span above its lowest point scaled to 100."""
    m = comp.measured
    lo, hi, _ = comp.two_theta
    keep = (m.x >= lo) & (m.x <= hi)
    if not keep.any():
        return
    y = m.y[keep] - m.y[keep].min()
    top = y.max() if y.max() > 0 else 1.0
    label = Path(m.source).name if m.source else (m.name or "measured")
    ax.plot(m.x[keep], 100 * y / top + base, color="black", lw=0.6, label=f"measured ({label})")


def _fits_figure(comp: Comparison) -> Figure:
    names = list(comp.fit_curves)
    n = len(names)
    fig = new_figure((10, 4.0 + 1.3 * n))
    axes = fig.subplots(n + 1, 1, sharex=True, gridspec_kw={"height_ratios": [3] + [1] * n})
    x, yo, _ = comp.fit_curves[names[0]]
    axes[0].plot(x, yo, ".", color="black", ms=1.5, label="observed")
    diffs = [comp.fit_curves[k][1] - comp.fit_curves[k][2] for k in names]
    span = max(float(np.max(np.abs(d))) for d in diffs) or 1.0
    for i, (name, diff) in enumerate(zip(names, diffs, strict=True)):
        colour = _COLOURS[i % len(_COLOURS)]
        fx, _, yc = comp.fit_curves[name]
        axes[0].plot(fx, yc, color=colour, lw=0.7, label=name)
        ax = axes[i + 1]
        ax.plot(fx, diff, color=colour, lw=0.5)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_ylim(-1.1 * span, 1.1 * span)
        ax.set_ylabel("obs − calc", fontsize=7)
        ticks = [e.two_theta for e in comp.extra if e.fit == name]
        if ticks:
            ax.vlines(ticks, -1.1 * span, -0.8 * span, color="black", lw=0.6)
        ax.text(0.01, 0.85, name, transform=ax.transAxes, fontsize=8, color=colour)
    axes[0].set_ylabel("Intensity (counts)")
    axes[0].legend(loc="upper right", fontsize=8, frameon=False)
    axes[0].set_title("Fits to one pattern; ticks under a difference curve: reflections only "
                      "that fit's phases have", fontsize=10)
    axes[-1].set_xlabel("2θ (degrees)")
    fig.tight_layout()
    return fig


def plot_fits(comp: Comparison, path: str | os.PathLike[str]) -> Path:
    """Write the fits figure (observed, calculated, differences) to ``path`` atomically."""
    return save_figure(_fits_figure(comp), path)


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
    if comp.fits:
        out += _fits_md(comp, FITS_PNG if picture and len(comp.fits) > 1 else None)
    if comp.notes:
        out += ["## Notes", ""] + [f"- {n}" for n in comp.notes] + [""]
    return "\n".join(out).rstrip() + "\n"


def _fits_md(comp: Comparison, picture: str | None) -> list[str]:
    out = ["## Fits to the pattern", "",
           "Rwp and GOF as each refinement reports them (restraint terms not included); "
           "parameters: resolved free parameters; ring Δ, σ²: mean B–S ring distortion of "
           "each refined phase with B–S rings.", ""]
    out += md_table(*comp.fits_table())
    if comp.tests:
        out += [
            "### Hamilton's R-factor ratio test",
            "",
            "Hamilton, *Acta Cryst.* 18, 502 (1965): R = Rwp(restricted)/Rwp(general) against "
            "R_{b,n−m,α} = sqrt(1 + b F_{b,n−m,α}/(n − m)); b = parameters the general model "
            "adds, n = points, m = parameters of the general model, F from Fisher's F "
            "distribution (scipy.stats.f).  The restricted model is rejected when R exceeds "
            "the critical ratio.  The test assumes nested, linearised models; an ordered "
            "supercell and the average cell are not strictly nested, so take it as a guide.",
            "",
        ]
        out += md_table(*comp.tests_table())
        out += [f"- {t.verdict()}" for t in comp.tests] + [""]
    if comp.extra:
        header, rows = comp.extra_table(MD_EXTRA_ROWS)
        out += [
            "### Reflections only one fit has",
            "",
            f"{len(comp.extra)} peaks of a fit's own phases more than one instrumental FWHM "
            f"from every reflection of {comp.fits[0].name}'s phases (for an ordered supercell: "
            "the superstructure reflections the pattern can resolve); strongest "
            f"{len(rows)} listed (all in compare.json).  I_calc: integrated intensity with the "
            "refined scale (counts × degrees); σ_I: counting esd of an integrated intensity "
            f"over ±1 FWHM; residual: Σ(y_obs − y_calc) Δ2θ of {comp.fits[0].name} over "
            "±1 FWHM, in σ_I.",
            "",
        ]
        out += md_table(header, rows)
    if picture:
        out += [f"![fits]({picture})", ""]
    return out


def write_comparison(comp: Comparison, out_dir: str | os.PathLike[str],
                     force: bool = False) -> list[Path]:
    """Write ``compare.md``, ``compare.json``, ``overlay.png`` (and ``fits.png``) into ``out_dir``.

    ``fits.png`` is written when several fits are compared.  A missing directory is
    created; a non-empty one is refused unless ``force`` (then these files are replaced,
    other files are left alone).  Each file is written atomically.
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
    written = [
        atomic_write(p / COMPARE_JSON, comp.to_json() + "\n"),
        plot_overlay(comp, p / OVERLAY_PNG),
    ]
    if len(comp.fits) > 1:
        written.append(plot_fits(comp, p / FITS_PNG))
    return written + [atomic_write(p / COMPARE_MD, format_compare_md(comp))]
