"""``report.md``: a refinement as Markdown tables, numbers in crystallographic notation.

Every value with an esd is written ``3.9012(4)`` (:func:`xtal.util.esd.format_esd`);
a value that was not refined is written plainly.  The report is built from a
:class:`~xtal.refine.result.Result` alone, so ``xtal report DIR`` can regenerate it
from ``result.json``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import fields
from pathlib import Path

import numpy as np

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

_CELL = (("a", "a (Å)"), ("b", "b (Å)"), ("c", "c (Å)"), ("alpha", "α (°)"),
         ("beta", "β (°)"), ("gamma", "γ (°)"), ("volume", "V (Å³)"))
# Instrument fields worth a row, with units (GSAS-II conventions, see README)
_INSTRUMENT = (("lam1", "λ1 (Å)"), ("lam2", "λ2 (Å)"), ("ratio", "I(λ2)/I(λ1)"),
               ("polarization", "polarisation"), ("zero", "zero (° 2θ)"),
               ("U", "U (centideg²)"), ("V", "V (centideg²)"), ("W", "W (centideg²)"),
               ("X", "X (centideg)"), ("Y", "Y (centideg)"), ("Z", "Z (centideg)"),
               ("sh_l", "SH/L"))


def format_report(result: Result, title: str | None = None) -> str:
    """The Markdown text of a refinement report."""
    out: list[str] = [f"# {title or 'Rietveld refinement'}", ""]
    if result.stopped:
        out += [f"> **Refinement stopped:** {result.stopped}.",
                "> The values below are those of the last good state.", ""]
    out += [
        f"- data: `{result.data_source or 'unknown'}`",
        f"- recipe: `{result.recipe or 'unknown'}`",
        f"- engine: {engine_text(result)}; created {result.created or 'unknown'}",
        f"- points: {result.n_points}; refined parameters: {result.n_parameters}",
        "",
    ]
    out += _agreement(result)
    out += _phase_summary(result)
    out += ["## Amounts", ""] + [f"- {line}" for line in amounts_lines(result)] + [""]
    for name, pr in result.phases.items():
        out += _phase(result, name, pr)
    out += _instrument(result)
    out += _parameters(result)
    out += _correlations(result)
    out += _stages(result)
    out += ["## Warnings", ""]
    out += [f"- {w}" for w in result.warnings] if result.warnings else ["None."]
    return "\n".join(out).rstrip() + "\n"


def engine_text(r: Result) -> str:
    """``xtal 0.1.0`` (the engine's name carries the version already for xtal's own)."""
    return r.engine if r.xtal_version in r.engine else f"{r.engine} (xtal {r.xtal_version})"


def write_report(result: Result, path: str | os.PathLike[str], force: bool = False,
                 title: str | None = None) -> Path:
    """Write :func:`format_report` to ``path`` atomically; never overwrite unless ``force``."""
    return atomic_write(check_writable(path, force), format_report(result, title))


# -- sections ------------------------------------------------------------------------------
def _table(header: list[str], rows: list[list[str]], right: int = 1) -> list[str]:
    """A Markdown table; columns from ``right`` on are right-aligned (numbers)."""
    align = [":--" if i < right else "--:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines + [""]


def _pct(v: float | None) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.2f}"


def _agreement(r: Result) -> list[str]:
    # Rexp with the background subtracted, from the stored curves: sqrt((N−P)/Σ w (yo−yb)²);
    # GOF is the same either way (Rwp and Rexp share the denominator)
    cv = r.curves
    w = 1.0 / cv.sigma**2
    net = float(np.sum(w * (cv.observed - cv.background) ** 2))
    dof = max(r.n_points - r.n_parameters, 1)
    rexp_b = math.sqrt(dof / net) if net > 0 else float("nan")
    rows = [
        ["Rp (%)", _pct(r.rp), _pct(r.rp_background_subtracted)],
        ["Rwp (%)", _pct(r.rwp), _pct(r.rwp_background_subtracted)],
        ["Rexp (%)", _pct(r.rexp), _pct(rexp_b)],
        ["GOF", f"{r.gof:.3f}", f"{r.gof:.3f}"],
        ["χ²_ν (= GOF²)", f"{r.chi2:.4g}", f"{r.chi2:.4g}"],
    ]
    return ["## Agreement factors", ""] + _table(
        ["", "with background", "background subtracted"], rows)


def _phase_summary(r: Result) -> list[str]:
    sample = has_sample_fractions(r)
    rows = []
    for name, pr in r.phases.items():
        row = [name, pr.phase.space_group.symbol, phase_wt(pr)]
        row += [phase_wt_of_sample(r, name)] if sample else []
        rows.append(row + [_pct(pr.r_bragg)])
    header = ["phase", "space group", WT_CRYSTALLINE] + ([WT_SAMPLE] if sample else [])
    return ["## Phases", ""] + _table(header + ["R_Bragg (%)"], rows, right=2)


def _phase(r: Result, name: str, pr: PhaseResult) -> list[str]:
    sg = pr.phase.space_group
    amount = f"{WT_CRYSTALLINE} {phase_wt(pr)}"
    if has_sample_fractions(r):
        amount += f"; {WT_SAMPLE} {phase_wt_of_sample(r, name)}"
    formula = "cell only" if pr.is_le_bail else f"formula {pr.phase.formula}"
    out = [f"### {name}", "",
           f"- {formula}; space group {sg.symbol} (No. {sg.number}), {sg.crystal_system}",
           f"- {amount}; R_Bragg {_pct(pr.r_bragg)} %; scale {format_value(pr.scale)}", ""]
    out += _table([lab for _, lab in _CELL],
                  [[format_value(pr.cell[k]) if k in pr.cell else "" for k, _ in _CELL]], right=0)
    if pr.is_le_bail:
        return out + _extracted(pr)
    elements = {s.label: s.element for s in pr.phase.sites}
    rows = [[label, elements.get(label, "")]
            + [format_value(s[k]) for k in ("x", "y", "z", "occ", "biso")]
            for label, s in pr.sites.items()]
    out += _table(["site", "element", "x", "y", "z", "occupancy", "B_iso (Å²)"], rows, right=2)
    return out


def _extracted(pr: PhaseResult) -> list[str]:
    """The intensities a Le Bail fit extracted (2θ of Kα1)."""
    refl = pr.reflections
    rows = [[" ".join(str(int(i)) for i in hkl), f"{d:.5f}", f"{t:.4f}", str(m),
             format_plain(i, 2)]
            for hkl, d, t, m, i in zip(refl.get("hkl", []), refl.get("d", []),
                                       refl.get("two_theta", []), refl.get("multiplicity", []),
                                       refl.get("i_obs", []), strict=True)]
    out = [f"Le Bail: {len(rows)} intensities extracted from the pattern (I: integrated "
           "intensity of the reflection, counts × degrees, Kα1 + Kα2, multiplicity "
           f"included; also in `{lebail_filename(pr.name)}`).", ""]
    return out + _table(["h k l", "d (Å)", "2θ (°)", "multiplicity", "I"], rows)


def lebail_filename(name: str) -> str:
    """``<phase>_lebail.hkl``: the extracted intensities of a Le Bail phase, plain columns."""
    return (re.sub(r"[^A-Za-z0-9_.\-]", "_", name).strip(".") or "phase") + "_lebail.hkl"


def _instrument(r: Result) -> list[str]:
    have = {f.name for f in fields(r.instrument)}
    rows = []
    for key, label in _INSTRUMENT:
        if key not in have:
            continue
        val = getattr(r.instrument, key)
        if val is None:
            continue
        par = r.parameters.get(f"instrument.{key}")
        rows.append([label, format_value(par) if par is not None else format_esd(float(val), None)])
    return (["## Instrument", ""] + _table(["parameter", "value"], rows)
            + [f"- sample {_displacement(r)}", f"- {sh_l_note(r)}", ""])


def _displacement(r: Result) -> str:
    par = r.parameters.get("instrument.displacement")
    refined = par is not None and bool(par.esd)
    return displacement_text(r) + ("" if refined else ", not refined")


def sh_l_note(r: Result) -> str:
    """Which SH/L (FCJ axial divergence) the refinement used and where it came from.

    An old GSAS ``.prm`` holds S/L and H/L in its profile record: xtal reads SH/L =
    S/L + H/L from it (0.002 if absent), GSAS-II ignores them and uses 0.002
    (physics.md §5), so the same file can mean different asymmetry in the two.
    """
    par = r.parameters.get("instrument.sh_l")
    text = (f"SH/L = {format_esd(r.instrument.sh_l, par.esd if par is not None else None)}"
            f" ({'refined' if par is not None and par.esd else 'fixed'})")
    src = r.instrument.source
    if src is None:
        return text + ", xtal's default (GSAS-II's as well): no instrument file was given."
    text += f", from the instrument file `{Path(src).name}`"
    prm = _is_gsas_prm(Path(src))
    caveat = ("xtal reads SH/L = S/L + H/L of its profile record (0.002 if it has none);"
              " GSAS-II ignores them on import and uses SH/L = 0.002")
    if prm is None:
        return text + f" (no longer readable here; if it is an old GSAS .prm, {caveat})."
    return text + (f", an old GSAS .prm: {caveat}." if prm else ".")


def _is_gsas_prm(path: Path) -> bool | None:
    """Whether ``path`` holds old-GSAS ``INS  n`` records (None: cannot be read)."""
    try:
        with path.open("rb") as fh:
            return any(re.match(rb"INS[ 0-9]{3}[A-Z ]", line) for line in fh)
    except OSError:
        return None


def _parameters(r: Result) -> list[str]:
    # esd 0: a parameter the recipe names but symmetry holds fixed (γ = 120°, x = 1/3...)
    rows = [[f"`{n}`", format_value(v)] for n, v in r.parameters.items() if v.esd]
    out = ["## Refined parameters", "",
           f"{len(rows)} parameters carry an esd ({r.n_parameters} independent; constrained"
           " ones move with their master); esds are sqrt(C_kk · χ²_ν).", ""]
    return out + (_table(["parameter", "value(esd)"], rows) if rows else ["None.", ""])


def _correlations(r: Result) -> list[str]:
    out = ["## Correlations (|ρ| > 0.9)", ""]
    if not r.correlations:
        return out + ["None.", ""]
    return out + _table(["parameter", "parameter", "ρ"],
                        [[f"`{a}`", f"`{b}`", f"{rho:+.3f}"] for a, b, rho in r.correlations],
                        right=2)


def _stages(r: Result) -> list[str]:
    rows = []
    for st in r.stages:
        if st.get("stopped"):
            state = f"**stopped**: {st['stopped']}"
        else:
            state = "converged" if st.get("converged") else "cycle limit"
        rows.append([st["name"], str(st.get("refined", "")), str(st["cycles"]),
                     _g(st.get("chi2_start")), _g(st.get("chi2")), state])
    return ["## Stages", ""] + _table(
        ["stage", "parameters", "cycles", "χ² start", "χ² end", "outcome"], rows)


def format_value(v: Value) -> str:
    """``value(esd)`` in crystallographic notation; ``n/a`` for a missing value."""
    if v.value is None or not math.isfinite(v.value):
        return "n/a"
    return format_esd(v.value, v.esd)


def format_wt_percent(v: Value) -> str:
    """A weight fraction as ``92.61(9)`` (per cent)."""
    if v.value is None or not math.isfinite(v.value):
        return "n/a"
    return format_esd(100 * v.value, None if v.esd is None else 100 * v.esd)


def _g(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.6g}"
