"""Phases side by side: one table, simulated patterns, and the reflections that tell them apart.

What a user looks at to decide whether a new heat-treated sample is trigonal,
monoclinic or both (issue 4, item 4).  This module works on values only (phases,
an instrument, a 2θ range); :func:`xtal.app.compare.compare` finds them from names,
CIF paths and refinement results.

Table
-----
Per phase: space group and crystal system, cell, volume per formula unit V/Z,
crystallographic density, mean atomic volume M / (d · n)
(:func:`xtal.analysis.symmetry.mean_atomic_volume`), the X–Y distances of the XY3
units and the mean ring distortion (:func:`xtal.analysis.rings.rings`; absent,
with the reason, for a phase without such units, e.g. Na2S), and for a phase taken
from a refinement its weight fraction and R_Bragg.

Distinguishing reflections
--------------------------
Each phase's reflections are simulated with the instrument (Kα1 positions with
the instrument's zero and displacement shift).  Reflections of one phase at the
same d (e.g. hkl and khl of a trigonal Laue class, which are separate families in
-3 but coincide in 2θ) are one *peak* with the summed intensity.  A peak of phase p
distinguishes p when

* its intensity is above ``min_intensity`` (1 %) of p's strongest peak in the range, and
* it lies more than one FWHM from every peak of every other phase, the FWHM being
  the instrument's TCH pseudo-Voigt width at that peak's angle,
  Γ = tch(Γ_G(U, V, W), Γ_L(X, Y, Z)) (:mod:`xtal.diffraction.profile`).

"Every peak" of another phase means every peak above ``other_intensity`` (0.1 %) of
that phase's strongest: a reflection a thousand times weaker than its phase's
strongest is not seen in a laboratory pattern, and letting it veto a clear peak of
the other phase would hide the reflections the user is looking for.  Peaks of the
other phases up to one FWHM outside the range count too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from xtal.analysis.fits import ExtraReflection, FitSummary, HamiltonTest
from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError
from xtal.util.names import unique_names

#: Default 2θ grid (degrees): the range of the Na3BS3 paper's laboratory patterns.
DEFAULT_RANGE: tuple[float, float, float] = (10.0, 80.0, 0.01)
# Reflections of one phase closer than this in d (Å) are one peak.
_SAME_D = 1e-6


@dataclass(frozen=True)
class CompareEntry:
    """A phase to compare and what a refinement says of it (if it comes from one).

    Attributes
    ----------
    phase
        The structure.
    origin
        Where it comes from, for the table; default: its file, else ``'library'``.
    weight_fraction, weight_fraction_esd, r_bragg
        From a refinement (fractions, not percent), else None.
    cell_esd
        esds of a, b, c, α, β, γ (None where unknown).
    """

    phase: Phase
    origin: str | None = None
    weight_fraction: float | None = None
    weight_fraction_esd: float | None = None
    r_bragg: float | None = None
    cell_esd: tuple[float | None, ...] = (None,) * 6


@dataclass(frozen=True)
class PhaseSummary:
    """One row of the comparison table.

    Attributes
    ----------
    name
        Phase name (made unique across the comparison).
    origin
        ``'library'`` (shipped, registered or CIF) or the refinement's result file.
    formula, space_group, space_group_number, crystal_system
        Composition and declared symmetry.
    cell
        a, b, c (Å), α, β, γ (°); ``cell_esd`` their esds (None when unknown).
    volume
        Cell volume (Å³).
    formula_units
        Z (may be fractional: 2/3 for the trigonal Na3BS3 model).
    volume_per_formula_unit
        V / Z (Å³).
    density
        Crystallographic density (g/cm³).
    mean_atomic_volume
        M / (d · n) (cm³/mol).
    bond_lengths
        Every X–Y distance (Å) of the XY3 units (3 per unit), or None without units.
    mean_distortion_index, mean_angle_variance, mean_shape_measure
        Ring distortion averaged over all rings (None without rings).
    weight_fraction, weight_fraction_esd, r_bragg
        From a refinement only (None otherwise); fractions, not percent.
    notes
        Why a value is missing (e.g. "no B atoms").
    """

    name: str
    origin: str
    formula: str
    space_group: str
    space_group_number: int
    crystal_system: str
    cell: tuple[float, float, float, float, float, float]
    cell_esd: tuple[float | None, ...]
    volume: float
    formula_units: float
    volume_per_formula_unit: float
    density: float
    mean_atomic_volume: float
    bond_lengths: tuple[float, ...] | None
    mean_distortion_index: float | None
    mean_angle_variance: float | None
    mean_shape_measure: float | None
    weight_fraction: float | None = None
    weight_fraction_esd: float | None = None
    r_bragg: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def distinct_bond_lengths(self) -> tuple[float, ...]:
        """The X–Y distances rounded to 10⁻⁴ Å, each once, ascending (empty without units)."""
        if not self.bond_lengths:
            return ()
        return tuple(sorted({round(b, 4) for b in self.bond_lengths}))


@dataclass(frozen=True)
class Peak:
    """A peak of one phase: reflections at one d-spacing.

    Attributes
    ----------
    phase
        Phase name.
    hkl
        Every Laue-family representative at this d.
    two_theta
        Kα1 position (degrees) including the instrument's shift.
    d
        d-spacing (Å).
    intensity
        Summed Kα1 integrated intensity (arbitrary units of that phase).
    relative_intensity
        ``intensity`` / the phase's strongest peak in the range (0–1).
    fwhm
        Instrumental TCH FWHM at ``two_theta`` (degrees).
    separation
        Distance (degrees) to the nearest counted peak of the other phases
        (inf if they have none).
    """

    phase: str
    hkl: tuple[tuple[int, int, int], ...]
    two_theta: float
    d: float
    intensity: float
    relative_intensity: float
    fwhm: float
    separation: float

    @property
    def hkl_text(self) -> str:
        """``'1 1 1'``, several families joined by ``' / '``."""
        return " / ".join(" ".join(str(int(v)) for v in h) for h in self.hkl)


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare` (JSON via :meth:`to_dict`; patterns are not serialised).

    Attributes
    ----------
    phases
        One :class:`PhaseSummary` per phase, in the order given.
    distinguishing
        Peaks that tell the phases apart, by phase then 2θ.
    peaks
        Every peak of each phase in the range above ``other_intensity`` (by phase name).
    instrument
        The instrument the patterns and widths come from.
    two_theta
        (start, stop, step) of the simulated patterns (degrees).
    min_intensity, other_intensity
        Thresholds (fractions of a phase's strongest peak) used.
    patterns
        The simulated pattern of each phase alone, peak height 100, by name.
    structures
        The phases compared, by name.
    fits
        Refinements of different models to one pattern (:mod:`xtal.analysis.fits`).
    tests
        Hamilton's R-ratio test of each fit against the first.
    extra
        Reflections a fit's own phases have and the first fit's do not.
    measured
        A measured pattern drawn over the simulated ones (not serialised).
    fit_curves
        Each fit's (x, observed, calculated), by fit name (not serialised).
    notes
        What could not be compared and why.
    """

    phases: tuple[PhaseSummary, ...]
    distinguishing: tuple[Peak, ...]
    peaks: dict[str, tuple[Peak, ...]]
    instrument: Instrument
    two_theta: tuple[float, float, float]
    min_intensity: float
    other_intensity: float
    patterns: dict[str, Pattern] = field(repr=False, default_factory=dict)
    structures: dict[str, Phase] = field(repr=False, default_factory=dict)
    fits: tuple[FitSummary, ...] = ()
    tests: tuple[HamiltonTest, ...] = ()
    extra: tuple[ExtraReflection, ...] = ()
    measured: Pattern | None = field(repr=False, default=None)
    fit_curves: dict[str, tuple[np.ndarray, ...]] = field(repr=False, default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of JSON types (infinities become None)."""

        def peak(p: Peak) -> dict[str, Any]:
            d = asdict(p)
            d["hkl"] = [list(h) for h in p.hkl]
            d["separation"] = _finite(p.separation)
            return d

        return {
            "schema": "xtal.compare/1",
            "two_theta": list(self.two_theta),
            "instrument": self.instrument.as_dict(),
            "min_intensity": self.min_intensity,
            "other_intensity": self.other_intensity,
            "phases": [asdict(s) for s in self.phases],
            "distinguishing": [peak(p) for p in self.distinguishing],
            "measured": None if self.measured is None else (self.measured.source
                                                            or self.measured.name or "pattern"),
            "fits": [asdict(f) for f in self.fits],
            "hamilton": [_test_dict(t) for t in self.tests],
            "extra_reflections": [_extra_dict(e) for e in self.extra],
            "notes": list(self.notes),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text (strict: no NaN)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def table(self) -> tuple[list[str], list[list[str]]]:
        """The comparison table as text: header (quantity, then one column per phase) and rows.

        Values with a known esd are written ``3.9012(4)``; a missing value is ``'—'``.
        """
        from xtal.util.esd import format_esd

        ph = self.phases
        dash = "—"

        def row(label: str, values: list[str]) -> list[str]:
            return [label, *values]

        def opt(v: float | None, fmt: str) -> str:
            return dash if v is None else format(v, fmt)

        rows = [
            row("formula", [s.formula for s in ph]),
            row("space group", [f"{s.space_group} ({s.space_group_number})" for s in ph]),
            row("crystal system", [s.crystal_system for s in ph]),
        ]
        for i, label in enumerate(("a (Å)", "b (Å)", "c (Å)", "α (°)", "β (°)", "γ (°)")):
            rows.append(row(label, [format_esd(s.cell[i], s.cell_esd[i], 4) for s in ph]))
        rows += [
            row("V (Å³)", [f"{s.volume:.3f}" for s in ph]),
            row("Z", [_z_text(s.formula_units) for s in ph]),
            row("V/Z (Å³)", [f"{s.volume_per_formula_unit:.3f}" for s in ph]),
            row("density (g/cm³)", [f"{s.density:.4f}" for s in ph]),
            row("mean atomic volume (cm³/mol)", [f"{s.mean_atomic_volume:.3f}" for s in ph]),
            row("B–S (Å)", [_bonds_text(s) for s in ph]),
            row("ring Δ (mean)", [opt(s.mean_distortion_index, ".2e") for s in ph]),
            row("ring σ² (°², mean)", [opt(s.mean_angle_variance, ".3g") for s in ph]),
            row("ring CSM (mean)", [opt(s.mean_shape_measure, ".3g") for s in ph]),
        ]
        if any(s.weight_fraction is not None for s in ph):
            rows.append(row("weight fraction (wt%)", [_wt_text(s) for s in ph]))
        if any(s.r_bragg is not None for s in ph):
            rows.append(
                row(
                    "R_Bragg (%)",
                    [opt(None if s.r_bragg is None else 100 * s.r_bragg, ".2f") for s in ph],
                )
            )
        return ["", *(s.name for s in ph)], rows

    def distinguishing_table(self) -> tuple[list[str], list[list[str]]]:
        """The distinguishing reflections as text: header and one row per peak."""
        header = ["phase", "hkl", "2θ (°)", "d (Å)", "I/I_max (%)", "FWHM (°)", "nearest other (°)"]
        rows = [
            [
                p.phase,
                p.hkl_text,
                f"{p.two_theta:.3f}",
                f"{p.d:.4f}",
                f"{100 * p.relative_intensity:.1f}",
                f"{p.fwhm:.3f}",
                "—" if not math.isfinite(p.separation) else f"{p.separation:.3f}",
            ]
            for p in self.distinguishing
        ]
        return header, rows


    def fits_table(self) -> tuple[list[str], list[list[str]]]:
        """The fits side by side: one row per fit."""
        header = ["fit", "phases", "Rwp (%)", "GOF", "parameters", "points", "ring Δ",
                  "ring σ² (°²)"]
        rows = []
        for f in self.fits:
            rings = list(f.rings.values())
            rows.append([
                f.name, ", ".join(f.phases), f"{100 * f.rwp:.3f}", f"{f.gof:.3f}",
                str(f.n_parameters), str(f.n_points),
                ", ".join(f"{r[0]:.3g}" for r in rings) or "—",
                ", ".join(f"{r[1]:.3g}" for r in rings) or "—",
            ])
        return header, rows

    def tests_table(self) -> tuple[list[str], list[list[str]]]:
        """Hamilton's test of each fit against the first: one row per pair."""
        header = ["restricted (fewer parameters)", "general (more)", "R = Rwp₁/Rwp₂", "b",
                  "n − m", "α", "R_{b,n−m,α}", "p", "preferred"]
        rows = [[t.restricted, t.general, f"{t.ratio:.5f}", str(t.b), str(t.n_minus_m),
                 f"{t.alpha:g}", f"{t.critical:.5f}", t.p_text, t.preferred]
                for t in self.tests]
        return header, rows

    def extra_table(self, limit: int | None = None) -> tuple[list[str], list[list[str]]]:
        """Reflections only a fit's own phases have, strongest first (``limit`` rows)."""
        header = ["fit", "phase", "hkl", "2θ (°)", "d (Å)", "I_calc", "I_calc/σ_I",
                  "residual of first fit/σ_I"]
        ranked = sorted(self.extra, key=lambda e: -e.i_calc)[:limit]
        rows = [[e.fit, e.phase, e.hkl_text, f"{e.two_theta:.3f}", f"{e.d:.4f}",
                 f"{e.i_calc:.4g}", f"{e.signal_to_noise:.1f}", f"{e.residual_sigma:+.1f}"]
                for e in ranked]
        return header, rows


# -- entry point ---------------------------------------------------------------------------
def compare(
    phases: Sequence[Phase | CompareEntry],
    instrument: Instrument | None = None,
    two_theta: tuple[float, float, float] | None = None,
    *,
    center: str = "B",
    ligand: str = "S",
    min_intensity: float = 0.01,
    other_intensity: float = 0.001,
) -> Comparison:
    """Compare two or more phases (see the module docstring for the rules).

    Parameters
    ----------
    phases
        Phases, or :class:`CompareEntry` values that carry a refinement's weight
        fraction, R_Bragg and cell esds with the phase.
    instrument
        The instrument of the patterns and peak widths; default: Cu Kα1/Kα2 defaults.
    two_theta
        (start, stop, step) in degrees; default :data:`DEFAULT_RANGE`.
    center, ligand
        Elements of the trigonal-planar units (B and S for thioborates).
    min_intensity
        A distinguishing peak must exceed this fraction of its phase's strongest.
    other_intensity
        Peaks of the other phases weaker than this fraction of their strongest are
        not counted as overlapping.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        Fewer than two phases, bad thresholds.
    """
    entries = [p if isinstance(p, CompareEntry) else CompareEntry(p) for p in phases]
    if len(entries) < 2:
        raise InputError(f"compare needs at least two phases (got {len(entries)})")
    if not (0 <= min_intensity < 1 and 0 <= other_intensity < 1):
        raise InputError("intensity thresholds must be fractions in [0, 1)")
    inst = instrument if instrument is not None else Instrument()
    tt = two_theta or DEFAULT_RANGE

    from xtal.diffraction.simulate import simulate

    names = unique_names([e.phase.name for e in entries], "{name} ({k})")
    summaries: list[PhaseSummary] = []
    patterns: dict[str, Pattern] = {}
    structures: dict[str, Phase] = {}
    all_peaks: dict[str, list[Peak]] = {}
    for name, entry in zip(names, entries, strict=True):
        summaries.append(_summary(name, entry, center, ligand))
        pat = simulate(entry.phase, inst, tt, peak_height=100.0)
        patterns[name] = pat
        structures[name] = entry.phase
        refl = next(iter(pat.reflections.values()))
        all_peaks[name] = _peaks(name, refl, inst, tt[0], tt[1])

    distinguishing: list[Peak] = []
    counted: dict[str, list[Peak]] = {}
    for name, pk in all_peaks.items():
        strongest = _strongest(pk, tt[0], tt[1])
        counted[name] = [p for p in pk if p.intensity > other_intensity * strongest]
    final_peaks: dict[str, tuple[Peak, ...]] = {}
    for name in all_peaks:
        others = np.array(
            [p.two_theta for other, ps in counted.items() if other != name for p in ps]
        )
        updated = []
        for p in counted[name]:
            sep = float(np.min(np.abs(others - p.two_theta))) if others.size else math.inf
            q = Peak(**{**_fields(p), "separation": sep})
            if tt[0] <= q.two_theta <= tt[1]:
                updated.append(q)
                if q.relative_intensity > min_intensity and sep > q.fwhm:
                    distinguishing.append(q)
        final_peaks[name] = tuple(updated)

    return Comparison(
        phases=tuple(summaries),
        distinguishing=tuple(distinguishing),
        peaks=final_peaks,
        instrument=inst,
        two_theta=(float(tt[0]), float(tt[1]), float(tt[2])),
        min_intensity=float(min_intensity),
        other_intensity=float(other_intensity),
        patterns=patterns,
        structures=structures,
    )


def instrument_fwhm(instrument: Instrument, two_theta: np.ndarray | float) -> np.ndarray:
    """Instrumental TCH pseudo-Voigt FWHM (degrees) at ``two_theta`` (no sample broadening)."""
    from xtal.diffraction.profile import gaussian_fwhm, lorentzian_fwhm, tch

    tt = np.atleast_1d(np.asarray(two_theta, float))
    fg = gaussian_fwhm(tt, instrument.U, instrument.V, instrument.W)
    fl = lorentzian_fwhm(tt, instrument.X, instrument.Y, instrument.Z)
    return tch(fg, fl)[0]


# -- pieces --------------------------------------------------------------------------------
def _summary(name: str, entry: CompareEntry, center: str, ligand: str) -> PhaseSummary:
    from xtal.analysis.rings import rings
    from xtal.analysis.symmetry import mean_atomic_volume

    phase = entry.phase
    c = phase.cell
    keys = ("a", "b", "c", "alpha", "beta", "gamma")
    origin = entry.origin or ("library" if phase.source is None else str(phase.source))
    rb = entry.r_bragg
    notes: list[str] = []
    bonds = di = av = sm = None
    try:
        rep = rings(phase, center=center, ligand=ligand)
    except InputError as err:
        # a phase without XY3 units (Na2S) or without layers still belongs in the table
        notes.append(f"no {center}–{ligand} rings: {err.message}")
    else:
        bonds = tuple(float(b) for u in rep.units for b in u.bond_lengths)
        di, av, sm = (
            rep.mean_distortion_index,
            rep.mean_angle_variance,
            rep.mean_shape_measure,
        )
    z = phase.formula_units
    return PhaseSummary(
        name=name,
        origin=origin,
        formula=phase.formula,
        space_group=phase.space_group.hm_compact,
        space_group_number=phase.space_group.number,
        crystal_system=phase.space_group.crystal_system,
        cell=tuple(float(getattr(c, k)) for k in keys),  # type: ignore[arg-type]
        cell_esd=tuple(entry.cell_esd),
        volume=float(c.volume),
        formula_units=float(z),
        volume_per_formula_unit=float(c.volume / z),
        density=float(phase.density),
        mean_atomic_volume=float(mean_atomic_volume(phase)),
        bond_lengths=bonds,
        mean_distortion_index=di,
        mean_angle_variance=av,
        mean_shape_measure=sm,
        weight_fraction=_finite(entry.weight_fraction),
        weight_fraction_esd=entry.weight_fraction_esd,
        r_bragg=None if rb is None else _finite(rb),
        notes=tuple(notes),
    )


def _peaks(name: str, refl: Any, inst: Instrument, lo: float, hi: float) -> list[Peak]:
    """Group a phase's reflections into peaks of equal d (window: range ± 1 FWHM + 1°)."""
    tth = np.asarray(refl.columns["two_theta"], float)
    inten = np.asarray(refl.columns["intensity"], float)
    d = np.asarray(refl.d, float)
    keep = np.isfinite(tth) & (tth >= lo - 1.0 - instrument_fwhm(inst, lo)[0])
    keep &= tth <= hi + 1.0 + instrument_fwhm(inst, hi)[0]
    idx = np.nonzero(keep)[0]
    idx = idx[np.argsort(tth[idx], kind="stable")]
    groups: list[list[int]] = []
    for i in idx:
        if groups and abs(d[groups[-1][0]] - d[i]) < _SAME_D:
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    peaks = []
    for g in groups:
        pos = float(tth[g[0]])
        peaks.append(
            Peak(
                phase=name,
                hkl=tuple(tuple(int(v) for v in refl.hkl[i]) for i in g),
                two_theta=pos,
                d=float(d[g[0]]),
                intensity=float(inten[g].sum()),
                relative_intensity=0.0,
                fwhm=float(instrument_fwhm(inst, pos)[0]),
                separation=math.inf,
            )
        )
    top = _strongest(peaks, lo, hi)
    return [
        Peak(**{**_fields(p), "relative_intensity": p.intensity / top if top > 0 else 0.0})
        for p in peaks
    ]


def _fields(p: Peak) -> dict[str, Any]:
    # dataclasses.asdict would turn the hkl tuples into lists
    return {k: getattr(p, k) for k in Peak.__dataclass_fields__}


def _strongest(peaks: list[Peak], lo: float, hi: float) -> float:
    inside = [p.intensity for p in peaks if lo <= p.two_theta <= hi]
    return max(inside) if inside else 0.0


def _z_text(z: float) -> str:
    from fractions import Fraction

    f = Fraction(z).limit_denominator(48)
    return str(f.numerator) if f.denominator == 1 else f"{f} ({z:.4g})"


def _bonds_text(s: PhaseSummary) -> str:
    # a few distinct lengths are listed; many (a monoclinic or ordered cell) are summarised
    b = s.distinct_bond_lengths
    if not b:
        return "—"
    if len(b) <= 3:
        return ", ".join(f"{v:.4f}" for v in b)
    mean = sum(s.bond_lengths or ()) / len(s.bond_lengths or (1,))
    return f"{b[0]:.4f}–{b[-1]:.4f} (mean {mean:.4f})"


def _wt_text(s: PhaseSummary) -> str:
    from xtal.util.esd import format_esd

    if s.weight_fraction is None:
        return "—"
    esd = None if s.weight_fraction_esd is None else 100 * s.weight_fraction_esd
    return format_esd(100 * s.weight_fraction, esd, 2)


def _test_dict(t: HamiltonTest) -> dict[str, Any]:
    return {**asdict(t), "significant": t.significant, "preferred": t.preferred,
            "verdict": t.verdict()}


def _extra_dict(e: ExtraReflection) -> dict[str, Any]:
    d = asdict(e)
    d["hkl"] = [list(h) for h in e.hkl]
    d["separation"] = _finite(e.separation)
    d["signal_to_noise"] = _finite(e.signal_to_noise)
    d["residual_sigma"] = e.residual_sigma
    return d


def _finite(v: float | None) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


__all__ = [
    "DEFAULT_RANGE",
    "CompareEntry",
    "Comparison",
    "Peak",
    "PhaseSummary",
    "compare",
    "instrument_fwhm",
]
