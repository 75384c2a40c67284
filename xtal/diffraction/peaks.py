"""The peak list: where each reflection is drawn, how strong and how wide.

One :class:`PeakList` per phase holds every peak the pattern draws — one per
reflection and wavelength line — built by :func:`build_peaks` and used alike by
simulation, refinement (and its derivatives), R_Bragg partitioning and
comparisons.  Conventions (physics.md §§3–5, GSAS-II constant-wavelength units):

* position 2θ = 2 asin(λ / 2d) + zero + displacement shift (:meth:`Instrument.shift`);
* area = S · r_line · m · |F|² · L · pol · P_MD, with GSAS-II's Lorentz factor
  L = 1 / (2 sin²θ cosθ) and pol = P + (1 − P) cos²2θ (:func:`lorentz_polarization`);
* Gaussian FWHM from Caglioti σ² = U tan²θ + V tanθ + W (centideg²), Lorentzian FWHM
  X / cosθ + Y tanθ + Z (centideg), plus GSAS-II's isotropic sample broadening:
  crystallite size s (µm) adds 1.8 λ / (π s cosθ) and microstrain ε (10⁻⁶) adds
  0.018 ε tanθ / π centidegrees of FWHM, a fraction ``mix`` of it Lorentzian.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from xtal.diffraction.instrument import Instrument
from xtal.diffraction.profile import gaussian_fwhm, lorentzian_fwhm

if TYPE_CHECKING:
    from xtal.diffraction.profile import PeakProfiles, RenderPlan

TAIL_MARGIN = 5.0  # degrees: peaks this far outside the range still add their tails


@dataclass(frozen=True)
class PhaseTerms:
    """Per-phase quantities of a pattern that are not part of the structure.

    Attributes
    ----------
    scale
        Rietveld scale factor S.
    po_axis
        Preferred-orientation axis as a reciprocal-lattice direction (hkl), or None.
    po_ratio
        March–Dollase r (1 = random).
    size
        Crystallite size (µm), None for no size broadening.
    microstrain
        Microstrain (10⁻⁶).
    mix
        Lorentzian fraction of the sample broadening (GSAS-II "LGmix").
    """

    scale: float = 1.0
    po_axis: tuple[int, int, int] | None = None
    po_ratio: float = 1.0
    size: float | None = None
    microstrain: float = 0.0
    mix: float = 1.0


def lorentz_polarization(two_theta: np.ndarray, polarization: float) -> np.ndarray:
    """GSAS-II L·pol: [P + (1 − P) cos²2θ] / (2 sin²θ cosθ) (physics.md §4)."""
    tt = np.radians(np.asarray(two_theta, float))
    th = tt / 2.0
    pol = polarization + (1.0 - polarization) * np.cos(tt) ** 2
    return pol / (2.0 * np.sin(th) ** 2 * np.cos(th))


def peak_widths(
    instrument: Instrument, terms: PhaseTerms, tth: np.ndarray, lam: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian and Lorentzian FWHM (degrees) at Bragg angles ``tth`` (instrument + sample).

    Sample broadening follows GSAS-II's isotropic model (module docstring); its Gaussian
    part adds to the instrumental Gaussian FWHM in quadrature.
    """
    th = np.radians(tth / 2.0)
    broad = np.zeros_like(tth)  # sample broadening, centidegrees of FWHM
    if terms.size:
        broad += 1.8 * lam / (np.pi * terms.size * np.cos(th))
    if terms.microstrain:
        broad += 0.018 * terms.microstrain * np.tan(th) / np.pi
    fl = lorentzian_fwhm(tth, instrument.X, instrument.Y, instrument.Z) + terms.mix * broad / 100.0
    fg = gaussian_fwhm(tth, instrument.U, instrument.V, instrument.W)
    if terms.mix < 1.0:
        extra = ((1.0 - terms.mix) * broad / 100.0) ** 2
        fg = np.sqrt(fg * fg + extra)  # Gaussian FWHMs add in quadrature
    return fg, fl


@dataclass(frozen=True, eq=False)
class PeakList:
    """Every peak one phase draws: one entry per reflection and wavelength line.

    Attributes
    ----------
    pos
        Peak positions 2θ (degrees), zero and displacement included.
    area
        Integrated intensities (intensity × degrees) at the phase scale the list was
        built with.
    fwhm_g, fwhm_l
        Gaussian and Lorentzian FWHM (degrees).
    ref
        Index of each peak's reflection in the phase's reflection list.
    line
        Index of each peak's wavelength line in ``Instrument.wavelengths``.
    sh_l
        FCJ axial-divergence parameter SH/L the peaks are drawn with.
    bb
        Bérar–Baldinozzi asymmetry (P1…P4), or None.
    """

    pos: np.ndarray
    area: np.ndarray
    fwhm_g: np.ndarray
    fwhm_l: np.ndarray
    ref: np.ndarray
    line: np.ndarray
    sh_l: float = 0.0
    bb: tuple[float, float, float, float] | None = None

    def __len__(self) -> int:
        return int(self.pos.size)

    def scaled(self, factor: float) -> PeakList:
        """The same peaks with every area multiplied by ``factor``."""
        return replace(self, area=self.area * factor)

    def with_areas(self, area: np.ndarray) -> PeakList:
        """The same peaks with other areas (e.g. a derivative of the areas)."""
        return replace(self, area=np.asarray(area, float))

    def select(self, mask: np.ndarray) -> PeakList:
        """The peaks where ``mask`` is true."""
        m = np.asarray(mask)
        return replace(
            self,
            pos=self.pos[m],
            area=self.area[m],
            fwhm_g=self.fwhm_g[m],
            fwhm_l=self.fwhm_l[m],
            ref=self.ref[m],
            line=self.line[m],
        )

    def plan(self, fcj: str) -> RenderPlan:
        """The discrete drawing choices (FCJ rules, width bands) for these peaks."""
        from xtal.diffraction.profile import make_plan

        return make_plan(self.pos, self.fwhm_g, self.fwhm_l, self.sh_l, fcj)

    def render(
        self,
        x: np.ndarray,
        *,
        fcj: str,
        tails: bool = True,
        plan: RenderPlan | None = None,
    ) -> np.ndarray:
        """The sum of these peaks at ``x`` (see :func:`xtal.diffraction.profile.render_peaks`)."""
        from xtal.diffraction.profile import render_peaks

        return render_peaks(x, self, fcj=fcj, tails=tails, plan=plan)  # type: ignore[return-value]

    def profiles(
        self, x: np.ndarray, *, fcj: str, plan: RenderPlan | None = None
    ) -> tuple[np.ndarray, PeakProfiles]:
        """The pattern and the unit-area profile of every peak (for Jacobians, R_Bragg)."""
        from xtal.diffraction.profile import render_peaks

        return render_peaks(x, self, fcj=fcj, derivatives=True, plan=plan)  # type: ignore[return-value]

    def per_reflection(self, values: np.ndarray, n_reflections: int) -> np.ndarray:
        """Per-peak ``values`` summed over the lines of each reflection."""
        return np.bincount(self.ref, weights=values, minlength=n_reflections)


def build_peaks(
    d: np.ndarray,
    weight: np.ndarray,
    instrument: Instrument,
    terms: PhaseTerms,
    window: tuple[float, float] | None = None,
    clamp: bool = False,
) -> PeakList:
    """The peak list of reflections with spacings ``d`` (Å) and ``weight`` = m · |F|² · P_MD.

    Areas are S · r_line · weight · L·pol(2θ) (module docstring), S = ``terms.scale``.
    With ``window`` = (lo, hi), only peaks with lo − 5° ≤ 2θ ≤ hi + 5° are kept (their
    tails reach the range); reflections a line cannot reach (λ/2d ≥ 1) are left out,
    unless ``clamp``: then every reflection keeps its peaks (placed near 180° with zero
    area), so that the list has the same length whatever the cell, as a finite-difference
    derivative needs.
    """
    d = np.asarray(d, float)
    weight = np.asarray(weight, float)
    # every line at once: line k's peaks are entries k·n … (k + 1)·n − 1 before selection,
    # so the list comes out line by line, each in reflection order
    n = d.size
    waves = instrument.wavelengths
    lam_all = np.repeat(np.array([lam for lam, _ in waves], float), n)
    rel_all = np.repeat(np.array([rel for _, rel in waves], float), n)
    arg = lam_all / (2.0 * np.tile(d, len(waves)))
    reach = arg < 1.0
    if clamp:
        arg = np.minimum(arg, 0.999999)
    sel = np.nonzero(arg < 1.0)[0]
    tth = np.degrees(2.0 * np.arcsin(arg[sel]))
    pos = tth + instrument.shift(tth)
    if window is not None:
        keep = (pos >= window[0] - TAIL_MARGIN) & (pos <= window[1] + TAIL_MARGIN)
        sel, tth, pos = sel[keep], tth[keep], pos[keep]
    ref, line = sel % max(n, 1), sel // max(n, 1)
    lp = lorentz_polarization(tth, instrument.polarization)
    # a clamped reflection this line cannot reach keeps its place in the list, no intensity
    area = terms.scale * rel_all[sel] * weight[ref] * np.where(reach[sel], lp, 0.0)
    fg, fl = peak_widths(instrument, terms, tth, lam_all[sel])
    return PeakList(
        pos,
        area,
        fg,
        fl,
        ref=ref.astype(int),
        line=line.astype(int),
        sh_l=float(instrument.sh_l),
        bb=instrument.berar_baldinozzi,
    )


def single_peak(
    position: float, area: float, fwhm_g: float, fwhm_l: float, sh_l: float = 0.0
) -> PeakList:
    """A list of one peak (e.g. an amorphous halo)."""
    z = np.zeros(1, int)

    def one(v: float) -> np.ndarray:
        return np.array([float(v)])

    return PeakList(one(position), one(area), one(fwhm_g), one(fwhm_l), z, z, sh_l)


def peaks_from_arrays(
    pos: Sequence[float] | np.ndarray,
    area: Sequence[float] | np.ndarray,
    fwhm_g: Sequence[float] | np.ndarray | float,
    fwhm_l: Sequence[float] | np.ndarray | float,
    sh_l: float = 0.0,
    bb: tuple[float, float, float, float] | None = None,
) -> PeakList:
    """A peak list from plain arrays (each peak its own reflection, one line)."""
    p = np.asarray(pos, float)
    n = p.size
    return PeakList(
        p,
        np.broadcast_to(np.asarray(area, float), (n,)).copy(),
        np.broadcast_to(np.asarray(fwhm_g, float), (n,)).copy(),
        np.broadcast_to(np.asarray(fwhm_l, float), (n,)).copy(),
        np.arange(n),
        np.zeros(n, int),
        float(sh_l),
        bb,
    )
