"""Powder-pattern calculation: phases + instrument + background → Pattern.

Integrated intensity of reflection h drawn at wavelength line k (physics.md §4):

    I = S · r_k · m_h · ½(|F(h)|² + |F(−h)|²) · L(θ) · pol(2θ) · P_h

with S the phase scale, r_k the line's relative intensity (1 for Kα1, I(Kα2)/I(Kα1)
for Kα2), the Lorentz factor of GSAS-II L = 1 / (2 sin²θ cosθ), pol(2θ) = P + (1 − P)
cos²2θ, and March–Dollase preferred orientation P_h.  Each reflection is drawn once
per line with shared profile parameters; peak positions include the zero shift and
sample displacement.  With this intensity, Hill & Howard's weight fractions are
W_p = S_p (ZMV)_p / Σ S_i (ZMV)_i (J. Appl. Cryst. 20, 467, 1987).

Sample broadening follows GSAS-II's isotropic model: crystallite size s (µm) adds
1.8 λ / (π s cosθ) and microstrain ε (10⁻⁶) adds 0.018 ε tanθ / π centidegrees of
FWHM, a fraction ``mix`` of it Lorentzian and the rest Gaussian.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xtal.crystal.phase import Phase
from xtal.diffraction.background import Background
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.diffraction.peaks import (
    TAIL_MARGIN,
    PeakList,
    PhaseTerms,
    build_peaks,
    lorentz_polarization,
    peak_widths,
)
from xtal.diffraction.profile import LN2
from xtal.diffraction.reflections import ReflectionList, generate_reflections
from xtal.diffraction.scattering import FormFactor, structure_factors
from xtal.errors import InputError
from xtal.util.names import unique_names


def reflections_up_to(
    phase: Phase, instrument: Instrument, tth_max: float, d_margin: float = 1.0
) -> ReflectionList:
    """Every reflection any line of ``instrument`` puts below tth_max + 5° (tails included).

    ``d_margin`` < 1 widens the list, e.g. 0.98 for a cell that a refinement may shrink.
    """
    lam_min = min(lam for lam, _ in instrument.wavelengths)
    th = np.radians(min(tth_max + TAIL_MARGIN, 179.0) / 2.0)
    return generate_reflections(
        phase.cell, phase.space_group, d_margin * lam_min / (2 * np.sin(th))
    )


def march_dollase(refl: ReflectionList, phase: Phase, axis: Sequence[int], r: float) -> np.ndarray:
    """March–Dollase factor averaged over each Laue family (physics.md §4).

    P(α) = (r² cos²α + sin²α / r)^(−3/2), α between the reflection's and the
    axis's reciprocal-lattice vectors.
    """
    if r == 1.0:
        return np.ones(len(refl))
    gs = phase.cell.reciprocal_metric
    ax = np.asarray(axis, float)
    ax_len = np.sqrt(ax @ gs @ ax)
    laue = phase.space_group.laue_rotations
    out = np.empty(len(refl))
    for i in range(len(refl)):
        hs = refl.laue_orbit(i, laue).astype(float)
        cos_a = (hs @ gs @ ax) / (np.sqrt(np.einsum("ni,ij,nj->n", hs, gs, hs)) * ax_len)
        c2 = np.clip(cos_a**2, 0.0, 1.0)
        out[i] = np.mean((r * r * c2 + (1.0 - c2) / r) ** -1.5)
    return out


class PhasePattern:
    """Cached reflections and |F|² of one phase for one wavelength set and range.

    Structure factors use f′, f″ at the Kα1 wavelength for every line (the Kα1–Kα2
    difference in f′ is below 10⁻³ electrons for the elements here).

    Parameters
    ----------
    phase
        Structure model.
    instrument
        Wavelengths (and their relative intensities).
    tth_max
        Largest 2θ (degrees) that must be covered.
    anomalous_dispersion, adp
        Switch f′ + i f″ and displacement factors on or off.
    f0
        Alternative form-factor function (see :func:`structure_factors`).
    """

    def __init__(
        self,
        phase: Phase,
        instrument: Instrument,
        tth_max: float,
        anomalous_dispersion: bool = True,
        adp: bool = True,
        f0: FormFactor | None = None,
    ) -> None:
        self.phase = phase
        self.f0 = f0
        self.anomalous_dispersion = anomalous_dispersion
        self.adp = adp
        self.reflections = reflections_up_to(phase, instrument, tth_max)
        self.f_sq = self._f_sq(instrument.lam1)

    def _f_sq(self, wavelength: float) -> np.ndarray:
        h = self.reflections.hkl
        if len(h) == 0:
            return np.zeros(0)
        kw = dict(
            wavelength=wavelength,
            anomalous_dispersion=self.anomalous_dispersion,
            adp=self.adp,
            f0=self.f0,
        )
        fp = structure_factors(self.phase, h, **kw)
        if not self.anomalous_dispersion or self.phase.space_group.is_centrosymmetric:
            return np.abs(fp) ** 2
        fm = structure_factors(self.phase, -h, **kw)
        return 0.5 * (np.abs(fp) ** 2 + np.abs(fm) ** 2)

    def po_factors(self, terms: PhaseTerms) -> np.ndarray:
        """March–Dollase factor of each reflection (1 without a preferred-orientation axis)."""
        if terms.po_axis is None:
            return np.ones(len(self.reflections))
        return march_dollase(self.reflections, self.phase, terms.po_axis, terms.po_ratio)

    def peaks(
        self, instrument: Instrument, terms: PhaseTerms, lo: float, hi: float
    ) -> PeakList:
        """Every drawn peak with lo − 5° ≤ 2θ ≤ hi + 5° (:func:`build_peaks`)."""
        refl = self.reflections
        weight = refl.multiplicity * self.f_sq * self.po_factors(terms)
        return build_peaks(refl.d, weight, instrument, terms, (lo, hi))

    @staticmethod
    def widths(
        instrument: Instrument, terms: PhaseTerms, tth: np.ndarray, lam: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gaussian and Lorentzian FWHM (degrees) at ``tth`` (:func:`peak_widths`)."""
        return peak_widths(instrument, terms, tth, lam)

    def render(
        self,
        x: np.ndarray,
        instrument: Instrument,
        terms: PhaseTerms,
        tails: bool = True,
        fcj: str = "gsas2",
    ) -> np.ndarray:
        """This phase's contribution to the pattern at ``x`` (see :func:`render_peaks`)."""
        pk = self.peaks(instrument, terms, float(x[0]), float(x[-1]))
        return pk.render(x, fcj=fcj, tails=tails)

    def table(self, instrument: Instrument, terms: PhaseTerms) -> ReflectionList:
        """Reflections with Kα1 position, |F|² and Kα1 integrated intensity attached."""
        lam = instrument.lam1
        refl = self.reflections
        arg = np.minimum(lam / (2.0 * refl.d), 1.0)
        tth = np.degrees(2.0 * np.arcsin(arg))
        inten = (
            terms.scale
            * refl.multiplicity
            * self.f_sq
            * lorentz_polarization(tth, instrument.polarization)
            * self.po_factors(terms)
        )
        return refl.with_columns(
            two_theta=tth + instrument.shift(tth), f_sq=self.f_sq, intensity=inten
        )


def two_theta_grid(start: float, stop: float, step: float) -> np.ndarray:
    """2θ points start, start + step, … ≤ stop (degrees), checked to lie in (0, 180)."""
    if not (0 < start < stop < 180):
        raise InputError(f"2θ range {start}–{stop} must satisfy 0 < start < stop < 180 degrees")
    if step <= 0 or (stop - start) / step > 5e6:
        raise InputError(f"2θ step {step} must be positive and give at most 5 million points")
    n = int(np.floor((stop - start) / step + 1e-9)) + 1
    return start + step * np.arange(n)


def simulate(
    phases: Phase | Sequence[Phase],
    instrument: Instrument | None = None,
    two_theta: np.ndarray | tuple[float, float, float] = (10.0, 80.0, 0.01),
    weights: Sequence[float] | None = None,
    terms: Sequence[PhaseTerms] | None = None,
    background: Background | None = None,
    anomalous_dispersion: bool = True,
    adp: bool = True,
    peak_height: float | None = 10000.0,
    fcj: str = "gsas2",
) -> Pattern:
    """Calculate a powder pattern.

    Parameters
    ----------
    phases
        One or more phases.
    instrument
        Instrument; default Cu Kα1/Kα2 (:class:`Instrument` defaults).
    two_theta
        2θ points (degrees), or (start, stop, step).
    weights
        Weight fractions of the phases (normalised to 1); scales then follow
        Hill & Howard, S_p ∝ w_p / (ZMV)_p.  Default: equal weights.
    terms
        Per-phase :class:`PhaseTerms` (scale, preferred orientation, broadening).
        If both ``weights`` and ``terms`` are given, the scales of ``terms`` are
        replaced by the Hill–Howard ones.
    background
        Chebyshev + halo background added to the pattern.
    anomalous_dispersion, adp
        Include f′ + i f″ and displacement factors.
    peak_height
        Scale the Bragg part so that its highest point equals this; None keeps
        the absolute scales.
    fcj
        Axial-divergence quadrature: ``"gsas2"`` (as GSAS-II computes it, so that
        its SH/L means the same) or ``"exact"`` (see :func:`~xtal.diffraction.profile.fcj_nodes`).

    Returns
    -------
    Pattern
        With ``components`` (each phase and ``'background'``) and ``reflections``
        (each phase's :class:`ReflectionList` with 2θ, |F|² and intensity columns).
    """
    phase_list = [phases] if isinstance(phases, Phase) else list(phases)
    if not phase_list:
        raise InputError("no phases to simulate")
    inst = instrument or Instrument()
    x = two_theta_grid(*two_theta) if isinstance(two_theta, tuple) else np.asarray(two_theta, float)
    if x.size < 2 or x[0] <= 0 or x[-1] >= 180:
        raise InputError("2θ points must lie in (0, 180) degrees")
    term_list = list(terms) if terms is not None else [PhaseTerms() for _ in phase_list]
    if len(term_list) != len(phase_list):
        raise InputError(f"{len(term_list)} phase terms given for {len(phase_list)} phases")
    if weights is not None:
        w = np.asarray(weights, float)
        if w.size != len(phase_list) or np.any(w < 0) or w.sum() <= 0:
            raise InputError(
                f"weights {list(weights)} must be {len(phase_list)} non-negative numbers"
            )
        w = w / w.sum()
        zmv = np.array([p.zmv for p in phase_list])
        s = w / zmv
        s = s / s.max()
        term_list = [_with_scale(t, si) for t, si in zip(term_list, s, strict=True)]

    names = unique_names([p.name for p in phase_list])
    parts: dict[str, np.ndarray] = {}
    tables: dict[str, ReflectionList] = {}
    for name, phase, t in zip(names, phase_list, term_list, strict=True):
        calc = PhasePattern(phase, inst, float(x[-1]), anomalous_dispersion, adp)
        parts[name] = calc.render(x, inst, t, fcj=fcj)
        tables[name] = calc.table(inst, t)
    bragg = np.sum(list(parts.values()), axis=0)
    factor = 1.0
    if peak_height is not None and bragg.max() > 0:
        factor = peak_height / bragg.max()
        parts = {k: v * factor for k, v in parts.items()}
        tables = {
            k: v.with_columns(intensity=v.columns["intensity"] * factor) for k, v in tables.items()
        }
    bg = background.evaluate(x) if background is not None else np.zeros_like(x)
    parts["background"] = bg
    y = bragg * factor + bg
    return Pattern(
        x=x,
        y=y,
        wavelength=inst.lam1,
        wavelength2=inst.lam2,
        ratio=inst.ratio,
        name="+".join(names),
        metadata={"simulated": True, "scale_factor": factor},
        reflections=tables,
        components=parts,
    )


def _with_scale(t: PhaseTerms, scale: float) -> PhaseTerms:
    from dataclasses import replace

    return replace(t, scale=float(scale))


__all__ = [
    "PhasePattern",
    "PhaseTerms",
    "simulate",
    "lorentz_polarization",
    "two_theta_grid",
    "LN2",
]
