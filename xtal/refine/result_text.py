"""What a result's amounts and geometry mean, in the words every report and table uses.

One place for the sentences that must read the same in ``report.md``, ``report.html``,
``refine.log``, the terminal table and a notebook (:mod:`xtal.refine.result_views`):

* Rietveld weight fractions are of the **crystalline part** (Hill & Howard 1987: they
  sum to 1 whatever glass the sample holds); with an internal standard, fractions of
  the **original sample** (standard removed) and the amorphous remainder
  (:mod:`xtal.refine.amorphous`);
* the degree of crystallinity from Bragg and halo areas, with its assumption;
* a Le Bail phase has extracted intensities and no weight fraction;
* the sample displacement means nothing without the goniometer radius
  (Δ2θ = −2 s cos θ / R, physics.md §3), so the two are always written together.
"""

from __future__ import annotations

import math

from xtal.refine.result import PhaseResult, Result, Value
from xtal.util.esd import format_esd

WT_CRYSTALLINE = "wt% (of crystalline part)"
WT_SAMPLE = "wt% of sample"
LE_BAIL = "Le Bail (intensities extracted; no weight fraction)"
STANDARD = "internal standard"
CRYSTALLINITY_NOTE = (
    "Bragg area / (Bragg + halo area) above the Chebyshev background over the fitted "
    "range. Assumes glass and crystal have the same composition and scattering power per "
    "unit mass (true of a Na3BS3 glass–ceramic, not of a mixture of different compounds); "
    "glass scattering taken up by the background polynomial is not counted, and thermal "
    "diffuse scattering is ignored (the value reads slightly low)."
)
FRACTIONS_NOTE = (
    "Weight fractions (Hill & Howard) are of the crystalline part: they sum to 100 % "
    "whatever amorphous content the sample holds."
)


def percent(v: Value | None) -> str:
    """A fraction as per cent with its esd, ``7.39(9)``; ``n/a`` when missing."""
    if v is None or v.value is None or not math.isfinite(v.value):
        return "n/a"
    return format_esd(100 * v.value, None if v.esd is None else 100 * v.esd)


def phase_wt(pr: PhaseResult) -> str:
    """The weight fraction of the crystalline part (per cent), or why there is none."""
    return LE_BAIL if pr.is_le_bail else percent(pr.weight_fraction)


def phase_wt_of_sample(result: Result, name: str) -> str:
    """The fraction of the original sample (per cent); for the standard, what it is."""
    std = result.internal_standard or {}
    if name == std.get("phase"):
        return STANDARD
    pr = result.phases[name]
    if pr.is_le_bail or pr.weight_fraction_of_sample is None:
        return "—"
    return percent(pr.weight_fraction_of_sample)


def has_sample_fractions(result: Result) -> bool:
    """Whether an internal standard put fractions of the whole sample in the result."""
    return result.internal_standard is not None


def standard_text(result: Result) -> str:
    """``internal standard Si, 10 wt% ± 0.05 weighed in``."""
    std = result.internal_standard or {}
    wt = f"{100 * float(std.get('weight_fraction', math.nan)):g} wt%"
    esd = float(std.get("esd") or 0.0)
    weighed = f"{wt} ± {100 * esd:g}" if esd > 0 else f"{wt} (no weighing esd given)"
    return f"internal standard {std.get('phase', '?')}, {weighed} weighed in"


def amorphous_line(result: Result) -> str | None:
    """``amorphous: 22.1(9) wt% of the original sample (internal standard …)``, or None."""
    if result.amorphous is None:
        return None
    return (f"amorphous: {percent(result.amorphous)} wt% of the original sample "
            f"({standard_text(result)})")


def crystallinity_line(result: Result) -> str | None:
    """``degree of crystallinity from areas: 80.1(3) %``, or None without a halo."""
    if result.crystallinity is None:
        return None
    return f"degree of crystallinity from areas: {percent(result.crystallinity)} %"


def amounts_lines(result: Result) -> list[str]:
    """What the fractions are of, then the amorphous part and the crystallinity if known."""
    lines = [FRACTIONS_NOTE]
    if has_sample_fractions(result):
        lines.append(f"'{WT_SAMPLE}': of the original sample (the standard removed; its "
                     "crystalline phases and the amorphous part make 100 %); "
                     f"'{WT_CRYSTALLINE}': of the crystalline part of the mixture, the "
                     "standard included.")
    if any(pr.is_le_bail for pr in result.phases.values()):
        lines.append("Le Bail phases have intensities extracted from the pattern, not "
                     "calculated from a structure: no weight fraction, and they are "
                     "left out of the others' sum.")
    for line in (amorphous_line(result), crystallinity_line(result)):
        if line is not None:
            lines.append(line)
    if result.crystallinity is not None:
        lines.append(f"(crystallinity: {CRYSTALLINITY_NOTE})")
    return lines


def displacement_text(result: Result) -> str:
    """``displacement 75.1(5) µm (goniometer radius 200 mm)``: the radius gives it meaning."""
    par = result.parameters.get("instrument.displacement")
    value = par if par is not None else Value(result.instrument.displacement)
    return (f"displacement {format_esd(value.value, value.esd)} µm "
            f"(goniometer radius {result.instrument.radius:g} mm)")
