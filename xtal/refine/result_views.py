"""A :class:`~xtal.refine.result.Result` in a notebook: a table, a figure, data frames.

* :func:`result_html` — ``Result._repr_html_``: agreement factors, and per phase its cell,
  weight fraction (saying of what) and R_Bragg; the amounts; no curves.
* :func:`result_figure` — ``Result.plot()``: the Rietveld figure of ``fit.png``
  (:func:`xtal.util.figures.rietveld_figure`, the same drawing).
* :func:`result_dataframe` — ``Result.to_dataframe(table)``: pandas tables of the
  parameters, phases, sites or reflections.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from xtal.refine.result import Result, Value
from xtal.refine.result_text import (
    WT_CRYSTALLINE,
    WT_SAMPLE,
    amorphous_line,
    crystallinity_line,
    displacement_text,
    has_sample_fractions,
    percent,
    phase_wt,
    phase_wt_of_sample,
)
from xtal.util.esd import format_esd

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

TABLES = ("parameters", "phases", "sites", "reflections")
_CELL = ("a", "b", "c", "alpha", "beta", "gamma", "volume")
_CELL_LABELS = ("a (Å)", "b (Å)", "c (Å)", "α (°)", "β (°)", "γ (°)", "V (Å³)")


# -- figure ----------------------------------------------------------------------------------
def result_figure(result: Result, title: str | None = None) -> Figure:
    """The Rietveld figure: legend with each phase's wt% (of the crystalline part)."""
    from xtal.util.figures import rietveld_figure

    cv = result.curves
    ticks = [(_legend(pr), pr.reflections.get("two_theta", []))
             for pr in result.phases.values()]
    corner = [f"$R_{{wp}}$ = {100 * result.rwp:.2f} %", f"GOF = {result.gof:.2f}"]
    if any(math.isfinite(pr.weight_fraction.value) for pr in result.phases.values()):
        corner.append("wt% of the crystalline part")
    if result.amorphous is not None:
        corner.append(f"amorphous {percent(result.amorphous)} wt% of sample")
    if result.crystallinity is not None:
        corner.append(f"crystallinity (areas) {percent(result.crystallinity)} %")
    return rietveld_figure(cv.x, cv.observed, cv.calculated, cv.background, ticks, corner,
                           "refinement stopped" if result.stopped else None, title)


def _legend(pr) -> str:
    if pr.is_le_bail:
        return f"{pr.name} (Le Bail)"
    wf = pr.weight_fraction
    return f"{pr.name} ({percent(wf)} wt%)" if math.isfinite(wf.value) else f"{pr.name} (wt% n/a)"


# -- HTML ------------------------------------------------------------------------------------
def result_html(result: Result) -> str:
    """A compact HTML summary (R factors, cells, wt%, R_Bragg, amounts) for notebooks."""
    e = html.escape
    r = result
    head = (f"<b>Rietveld refinement</b> ({e(r.engine)}; {e(r.recipe or 'recipe unknown')}): "
            f"R<sub>wp</sub> {100 * r.rwp:.2f} %, R<sub>p</sub> {100 * r.rp:.2f} %, "
            f"R<sub>exp</sub> {100 * r.rexp:.2f} %, GOF {r.gof:.3f}; "
            f"{r.n_points} points, {r.n_parameters} parameters")
    parts = [f"<p>{head}</p>"]
    if r.stopped:
        parts.append(f'<p style="color:#b00">refinement stopped: {e(r.stopped)}</p>')
    header = ["phase", "space group", *_CELL_LABELS, WT_CRYSTALLINE]
    if has_sample_fractions(r):
        header.append(WT_SAMPLE)
    header.append("R_Bragg (%)")
    rows = []
    for name, pr in r.phases.items():
        cells = [name, pr.phase.space_group.symbol]
        cells += [_fmt(pr.cell.get(k)) for k in _CELL]
        cells.append(phase_wt(pr))
        if has_sample_fractions(r):
            cells.append(phase_wt_of_sample(r, name))
        cells.append(f"{100 * pr.r_bragg:.2f}")
        rows.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
    parts.append('<table><tr>' + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>"
                 + "".join(rows) + "</table>")
    notes = [amorphous_line(r), crystallinity_line(r), displacement_text(r)]
    if r.warnings:
        notes.append(f"{len(r.warnings)} warning(s): result.warnings")
    parts.append("<p>" + "<br>".join(e(n) for n in notes if n) + "</p>")
    return "\n".join(parts)


def _fmt(v: Value | None) -> str:
    if v is None or v.value is None or not math.isfinite(v.value):
        return ""
    return format_esd(v.value, v.esd)


# -- data frames -----------------------------------------------------------------------------
def result_dataframe(result: Result, table: str = "parameters") -> pd.DataFrame:
    """A pandas table of ``result``.

    ``"parameters"``: one row per parameter (index: its dot path) with ``value``, ``esd``
    (NaN when none) and ``refined`` (it carries a positive esd).  ``"phases"``: one row
    per phase with space group, cell and esds, ``wt_percent`` of the crystalline part
    (NaN for a Le Bail phase, marked in ``le_bail``), ``wt_percent_of_sample`` with an
    internal standard, ``r_bragg_percent``.  ``"sites"``: one row per phase and site.
    ``"reflections"``: one row per phase and reflection (h, k, l, d, 2θ, multiplicity,
    I_calc, I_obs; for a Le Bail phase I_obs is the extracted intensity).
    """
    import pandas as pd

    if table not in TABLES:
        raise ValueError(f"table must be one of {', '.join(TABLES)}, not {table!r}")
    rows: list[dict[str, Any]] = getattr(_Rows(result), table)()
    index = {"parameters": "parameter", "phases": "phase"}.get(table)
    frame = pd.DataFrame(rows)
    return frame.set_index(index) if index and not frame.empty else frame


class _Rows:
    """Row dictionaries of each table (see :func:`result_dataframe`)."""

    def __init__(self, result: Result) -> None:
        self.r = result

    def parameters(self) -> list[dict[str, Any]]:
        return [{"parameter": n, "value": v.value, "esd": _esd(v),
                 "refined": bool(v.esd is not None and v.esd > 0)}
                for n, v in self.r.parameters.items()]

    def phases(self) -> list[dict[str, Any]]:
        rows = []
        for name, pr in self.r.phases.items():
            row: dict[str, Any] = {"phase": name, "space_group": pr.phase.space_group.symbol,
                                   "formula": pr.phase.formula}
            for k in _CELL:
                v = pr.cell.get(k, Value(math.nan))
                row[k], row[f"{k}_esd"] = v.value, _esd(v)
            row["le_bail"] = pr.is_le_bail
            row["wt_percent"], row["wt_percent_esd"] = _pct(pr.weight_fraction)
            if has_sample_fractions(self.r):
                sample = pr.weight_fraction_of_sample or Value(math.nan)
                row["wt_percent_of_sample"], row["wt_percent_of_sample_esd"] = _pct(sample)
            row["r_bragg_percent"] = 100 * pr.r_bragg
            rows.append(row)
        return rows

    def sites(self) -> list[dict[str, Any]]:
        rows = []
        for name, pr in self.r.phases.items():
            elements = {s.label: s.element for s in pr.phase.sites}
            for label, values in pr.sites.items():
                row: dict[str, Any] = {"phase": name, "site": label,
                                       "element": elements.get(label, "")}
                for k, v in values.items():
                    row[k], row[f"{k}_esd"] = v.value, _esd(v)
                rows.append(row)
        return rows

    def reflections(self) -> list[dict[str, Any]]:
        rows = []
        for name, pr in self.r.phases.items():
            refl = pr.reflections
            for i, hkl in enumerate(refl.get("hkl", [])):
                rows.append({"phase": name, "h": hkl[0], "k": hkl[1], "l": hkl[2],
                             "d": refl["d"][i], "two_theta": refl["two_theta"][i],
                             "multiplicity": refl["multiplicity"][i],
                             "i_calc": refl["i_calc"][i], "i_obs": refl["i_obs"][i]})
        return rows


def _esd(v: Value) -> float:
    return math.nan if v.esd is None else float(v.esd)


def _pct(v: Value) -> tuple[float, float]:
    value = math.nan if v.value is None else 100 * v.value
    return value, 100 * _esd(v)

