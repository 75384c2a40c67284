"""``report.html``: one self-contained page about a refinement (and the same as Markdown).

Self-contained means the file opens with no network and no other file: CSS is
inline, figures are inline SVG made by matplotlib (text drawn as paths, so no font
is needed; SVG scales without blur when the reader zooms the browser), there is no
script.  The only ``http`` text in the page is the plain-text literature references
and the SVG namespace declarations, which browsers never fetch.

Content (issue 4, item 6), Rietveld plot first so that it sits at a fixed place at
the top of the page: agreement factors; per phase the cell with esds, weight
fraction, R_Bragg and sites; the caller's analysis sections (symmetry, ring
distortion, phases side by side: :mod:`xtal.app.reports` computes them, this module
only lays them out); the refined parameters with esds; correlation warnings;
relative links to the files of the result directory (CIFs first).

The page is built as a list of blocks (heading, paragraph, table, figure, links)
rendered twice, as HTML and as Markdown, so the two say the same thing.
"""

from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xtal.errors import InputError
from xtal.refine.result import PhaseResult, Result, Value
from xtal.refine.result_text import (
    WT_CRYSTALLINE,
    WT_SAMPLE,
    amounts_lines,
    displacement_text,
    has_sample_fractions,
    phase_wt,
    phase_wt_of_sample,
)
from xtal.util.esd import format_esd, format_plain
from xtal.util.files import atomic_write, check_writable

REPORT_HTML = "report.html"
REPORT_MD = "report.md"
_CELL = (("a", "a (Å)"), ("b", "b (Å)"), ("c", "c (Å)"), ("alpha", "α (°)"),
         ("beta", "β (°)"), ("gamma", "γ (°)"), ("volume", "V (Å³)"))
_REFERENCES = (
    "Rietveld, J. Appl. Cryst. 2, 65 (1969), https://doi.org/10.1107/S0021889869006558",
    "Hill & Howard, J. Appl. Cryst. 20, 467 (1987), https://doi.org/10.1107/S0021889887086199",
    "Baur, Acta Cryst. B30, 1195 (1974), https://doi.org/10.1107/S0567740874004560",
    "Pinsky & Avnir, Inorg. Chem. 37, 5575 (1998), https://doi.org/10.1021/ic9804925",
)


# -- blocks --------------------------------------------------------------------------------
@dataclass
class Heading:
    """A section title (level 1–3)."""

    level: int
    text: str


@dataclass
class Para:
    """A paragraph of plain text; ``warn`` renders it as a warning."""

    text: str
    warn: bool = False


@dataclass
class Table:
    """A table of text cells; columns from ``numeric_from`` on are right-aligned."""

    header: list[str]
    rows: list[list[str]]
    numeric_from: int = 1
    css_id: str = ""


@dataclass
class Figure:
    """An inline SVG figure; ``md_src`` is a picture file for the Markdown version."""

    svg: str
    caption: str
    css_id: str
    md_src: str | None = None


@dataclass
class Links:
    """A list of relative links (text, href)."""

    items: list[tuple[str, str]] = field(default_factory=list)


Block = Heading | Para | Table | Figure | Links
#: Sections computed elsewhere (analysis) from a result, placed after the phase tables.
Sections = Callable[[Result], Sequence[Block]]


# -- public ----------------------------------------------------------------------------------
def write_report_html(result_dir: str | os.PathLike[str], force: bool = False,
                      sections: Sections | None = None,
                      rietveld_svg: str | None = None,
                      result: Result | None = None) -> list[Path]:
    """Write ``report.html`` (and ``report.md`` if there is none) into a result directory.

    Parameters
    ----------
    result_dir
        Directory holding ``result.json`` (as ``xtal refine --out`` writes it).
    force
        Overwrite an existing ``report.html``.  An existing ``report.md`` (the one
        ``xtal refine`` writes) is never overwritten.
    sections
        Computes the analysis sections from the result
        (:func:`xtal.app.reports.analysis_sections`); None leaves them out.
    rietveld_svg
        The Rietveld figure as SVG text if the caller has it (:func:`xtal.io.plots.figure_svg`
        of the figure that made ``fit.png``); default: drawn here.
    result
        The result that ``result.json`` holds, if the caller has it in memory (it has
        just written the file); default: read from ``result.json``.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    InputError
        Not a result directory, an unreadable ``result.json``, or ``report.html``
        exists without ``force``.
    """
    d = Path(result_dir)
    if not d.is_dir():
        raise InputError("not a directory (give a refinement output directory)", d)
    if not (d / "result.json").is_file():
        raise InputError("directory holds no result.json (not a refinement result)", d)
    target = check_writable(d / REPORT_HTML, force)
    if result is None:
        result = Result.load(d)
    blocks = build_report(result, d, sections(result) if sections is not None else (),
                          rietveld_svg)
    title = "Rietveld refinement report"
    written = [atomic_write(target, render_html(blocks, title))]
    md = d / REPORT_MD
    if not md.exists():
        written.append(atomic_write(md, render_markdown(blocks, title)))
    return written


def build_report(result: Result, result_dir: Path | None = None,
                 analysis: Sequence[Block] = (), rietveld_svg: str | None = None) -> list[Block]:
    """The blocks of the report of ``result`` (links to files found in ``result_dir``).

    ``analysis`` (symmetry, rings, phases side by side) goes after the phase tables.
    """
    out: list[Block] = [_meta(result)]
    if result.stopped:
        out.append(Para(f"Refinement stopped: {result.stopped}. The values below are those "
                        "of the last good state.", warn=True))
    fit_png = result_dir is not None and (result_dir / "fit.png").is_file()
    svg = rietveld_svg if rietveld_svg is not None else _rietveld_svg(result)
    out.append(Figure(svg, "Rietveld plot: observed (points), calculated, "
                      "background, difference (obs − calc) and hkl ticks per phase",
                      "rietveld-plot", "fit.png" if fit_png else None))
    out += _agreement(result)
    out += _phases(result)
    out += _instrument(result)
    out += list(analysis)
    out += _parameters(result)
    out += _correlations(result)
    out += _files(result_dir)
    out += [Heading(2, "References")] + [Para(r) for r in _REFERENCES]
    return out


# -- sections --------------------------------------------------------------------------------
def _meta(r: Result) -> Para:
    from xtal.io.report_md import engine_text

    return Para(
        f"data: {r.data_source or 'unknown'}; recipe: {r.recipe or 'unknown'}; "
        f"engine: {engine_text(r)}; created {r.created or 'unknown'}; "
        f"{r.n_points} points, {r.n_parameters} refined parameters."
    )


def _pct(v: float | None) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.2f}"


def _v(v: Value, decimals: int = 6) -> str:
    if v.value is None or not math.isfinite(v.value):
        return "n/a"
    return format_esd(v.value, v.esd, decimals)


def _agreement(r: Result) -> list[Block]:
    rows = [
        ["Rwp (%)", _pct(r.rwp), _pct(r.rwp_background_subtracted)],
        ["Rp (%)", _pct(r.rp), _pct(r.rp_background_subtracted)],
        ["Rexp (%)", _pct(r.rexp), ""],
        ["GOF", f"{r.gof:.3f}", ""],
        ["χ²_ν", f"{r.chi2:.4g}", ""],
    ]
    return [Heading(2, "Agreement factors"),
            Table(["", "with background", "background subtracted"], rows,
                  css_id="agreement")]


def _phases(r: Result) -> list[Block]:
    sample = has_sample_fractions(r)
    rows = [[n, "cell only" if pr.is_le_bail else pr.phase.formula,
             f"{pr.phase.space_group.symbol} ({pr.phase.space_group.number})", phase_wt(pr)]
            + ([phase_wt_of_sample(r, n)] if sample else []) + [_pct(pr.r_bragg)]
            for n, pr in r.phases.items()]
    header = ["phase", "formula", "space group", WT_CRYSTALLINE]
    header += [WT_SAMPLE] if sample else []
    out: list[Block] = [
        Heading(2, "Phases"),
        Table(header + ["R_Bragg (%)"], rows, numeric_from=3, css_id="phases"),
    ]
    out += [Para(line) for line in amounts_lines(r)]
    for name, pr in r.phases.items():
        out.append(Heading(3, name))
        out.append(Table([lab for _, lab in _CELL],
                         [[_v(pr.cell[k]) if k in pr.cell else "" for k, _ in _CELL]],
                         numeric_from=0, css_id=f"cell-{_slug(name)}"))
        if pr.is_le_bail:
            out += _extracted(name, pr)
            continue
        elements = {s.label: s.element for s in pr.phase.sites}
        rows = [[lab, elements.get(lab, "")] + [_v(s[k]) if k in s else "" for k in
                                                 ("x", "y", "z", "occ", "biso")]
                for lab, s in pr.sites.items()]
        out.append(Table(["site", "element", "x", "y", "z", "occupancy", "B_iso (Å²)"], rows,
                         numeric_from=2, css_id=f"sites-{_slug(name)}"))
    return out


def _extracted(name: str, pr: PhaseResult) -> list[Block]:
    """The intensities of a Le Bail phase (as ``<phase>_lebail.hkl`` holds them)."""
    refl = pr.reflections
    rows = [[" ".join(str(int(i)) for i in hkl), f"{d:.5f}", f"{t:.4f}", str(m),
             format_plain(i, 2)]
            for hkl, d, t, m, i in zip(refl.get("hkl", []), refl.get("d", []),
                                       refl.get("two_theta", []), refl.get("multiplicity", []),
                                       refl.get("i_obs", []), strict=True)]
    return [Para(f"Le Bail: {len(rows)} intensities extracted from the pattern (I: integrated "
                 "intensity of the reflection, counts × degrees, Kα1 + Kα2, multiplicity "
                 "included)."),
            Table(["h k l", "d (Å)", "2θ (°)", "multiplicity", "I"], rows,
                  css_id=f"lebail-{_slug(name)}")]


def _instrument(r: Result) -> list[Block]:
    par = r.parameters.get("instrument.displacement")
    refined = par is not None and bool(par.esd)
    zero = r.parameters.get("instrument.zero", Value(r.instrument.zero))
    return [Heading(2, "Instrument"),
            Para(f"sample {displacement_text(r)}{'' if refined else ', not refined'}; "
                 f"zero {_v(zero)}° 2θ; SH/L {format_plain(r.instrument.sh_l)}.")]


def _parameters(r: Result) -> list[Block]:
    rows = [[n, _v(v)] for n, v in r.parameters.items() if v.esd is not None]
    return [Heading(2, "Refined parameters"),
            Para(f"{len(rows)} parameters with an esd (sqrt(C_kk · χ²_ν))."),
            Table(["parameter", "value(esd)"], rows, css_id="parameters")]


def _correlations(r: Result) -> list[Block]:
    out: list[Block] = [Heading(2, "Correlations and warnings")]
    if r.correlations:
        out.append(Para("Strongly correlated parameter pairs (|ρ| > 0.9): their values "
                        "are poorly determined separately.", warn=True))
        out.append(Table(["parameter", "parameter", "ρ"],
                         [[a, b, f"{rho:+.3f}"] for a, b, rho in r.correlations],
                         numeric_from=2, css_id="correlations"))
    else:
        out.append(Para("No parameter pair correlated beyond |ρ| = 0.9."))
    out += [Para(w, warn=True) for w in r.warnings]
    return out


def _files(d: Path | None) -> list[Block]:
    if d is None:
        return []
    cifs = sorted(p.name for p in d.glob("*.cif"))
    others = [n for n in ("result.json", "fit.png", REPORT_MD, "refine.log")
              if (d / n).is_file()]
    items = [(f"{n} (refined structure, CIF)", n) for n in cifs]
    items += [(f"{p.name} (Le Bail intensities)", p.name) for p in sorted(d.glob("*_lebail.hkl"))]
    items += [(n, n) for n in others]
    if not items:
        return []
    return [Heading(2, "Files"), Links(items)]


# -- figures ---------------------------------------------------------------------------------
def _rietveld_svg(result: Result) -> str:
    from xtal.io.plots import figure_svg, fit_figure

    return figure_svg(fit_figure(result))


def _inline_svg(svg: str, prefix: str) -> str:
    """SVG text fit to sit inside HTML: no XML prolog or metadata, ids made unique per figure,
    scaled to the page width (the viewBox keeps the aspect ratio)."""
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg, flags=re.S)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # two matplotlib figures on one page define the same glyph and clip-path ids.  Each
    # pattern starts with its literal text and checks what precedes it by a lookbehind:
    # the regex engine then jumps between occurrences (a Rietveld SVG has ~6000 marker
    # references; a leading \b made it try every position: 26 ms instead of 1.5 ms)
    svg = re.sub(r'id="(?<=\Wid=")(?=[^"])', f'id="{prefix}-', svg)
    svg = re.sub(r'href="#(?=[^"])', f'href="#{prefix}-', svg)
    svg = re.sub(r"url\(#(?=[^)])", f"url(#{prefix}-", svg)
    svg = re.sub(r'(<svg\b[^>]*?)\swidth="[^"]*"', r'\1 width="100%"', svg, count=1)
    svg = re.sub(r'(<svg\b[^>]*?)\sheight="[^"]*"', r"\1", svg, count=1)
    return svg.strip()


# -- rendering -------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.2em 2em;
color:#222;max-width:1300px}
h1{font-size:1.5em;margin:.2em 0}h2{border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.2em .6em;vertical-align:top}th{background:#f2f2f2}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.warn{background:#fff3cd;border-left:4px solid #e0a800;padding:.4em .8em}
figure{margin:.5em 0}figure svg{display:block;width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}
"""


def render_html(blocks: list[Block], title: str) -> str:
    """A complete HTML5 document of ``blocks`` (everything inline, no external reference)."""
    e = html.escape
    body: list[str] = [f"<h1>{e(title)}</h1>"]
    for k, b in enumerate(blocks):
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            cls = ' class="warn"' if b.warn else ""
            body.append(f"<p{cls}>{e(b.text)}</p>")
        elif isinstance(b, Table):
            ident = f' id="{e(b.css_id)}"' if b.css_id else ""
            rows = ["<tr>" + "".join(f"<th>{e(h)}</th>" for h in b.header) + "</tr>"]
            for r in b.rows:
                cells = "".join(
                    f'<td class="n">{e(v)}</td>' if i >= b.numeric_from else f"<td>{e(v)}</td>"
                    for i, v in enumerate(r))
                rows.append(f"<tr>{cells}</tr>")
            body.append(f"<table{ident}>\n" + "\n".join(rows) + "\n</table>")
        elif isinstance(b, Figure):
            body.append(f'<figure id="{e(b.css_id)}">{_inline_svg(b.svg, f"f{k}")}'
                        f"<figcaption>{e(b.caption)}</figcaption></figure>")
        elif isinstance(b, Links):
            items = "".join(f'<li><a href="{e(href)}">{e(text)}</a></li>'
                            for text, href in b.items)
            body.append(f"<ul>{items}</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def render_markdown(blocks: list[Block], title: str) -> str:
    """The same blocks as Markdown (figures as links to their picture files when there are)."""
    from xtal.io.compare_output import md_table

    out = [f"# {title}", ""]
    for b in blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Para):
            out += [("> **Warning:** " if b.warn else "") + b.text, ""]
        elif isinstance(b, Table):
            out += md_table(b.header, b.rows)
        elif isinstance(b, Figure):
            out += [f"![{b.caption}]({b.md_src})" if b.md_src
                    else f"*{b.caption}: see report.html.*", ""]
        elif isinstance(b, Links):
            out += [f"- [{text}]({href})" for text, href in b.items] + [""]
    return "\n".join(out).rstrip() + "\n"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)
