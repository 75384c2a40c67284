"""Background: Chebyshev polynomial in 2θ plus broad "amorphous halo" peaks.

Conventions (physics.md §6)
---------------------------
* Chebyshev polynomials of the first kind T_n(t) with 2θ mapped linearly onto
  t ∈ [−1, 1] over the refined range (GSAS-II "chebyschev-1").
* A halo is a symmetric pseudo-Voigt of unit area times its integrated
  intensity (counts × degrees), with Gaussian FWHM and Lorentzian FWHM in
  degrees.  GSAS-II quotes background-peak intensities per centidegree, i.e.
  100 × the value used here, and widths as σ² (centideg²) and γ (centideg):
  :meth:`Halo.from_gsas2` converts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xtal.diffraction.peaks import single_peak
from xtal.diffraction.profile import LN2, render_peaks


def chebyshev_basis(
    x: np.ndarray, n_terms: int, lo: float | None = None, hi: float | None = None
) -> np.ndarray:
    """Columns T_0 … T_{n−1} at ``x`` mapped to [−1, 1] over [lo, hi] (default: x's range)."""
    x = np.asarray(x, float)
    lo = float(x[0]) if lo is None else lo
    hi = float(x[-1]) if hi is None else hi
    t = (2.0 * x - (hi + lo)) / (hi - lo)
    return np.polynomial.chebyshev.chebvander(t, max(n_terms - 1, 0))[:, :n_terms]


@dataclass(frozen=True)
class Halo:
    """A broad pseudo-Voigt background peak (residual glass).

    Attributes
    ----------
    position
        Centre, 2θ degrees.
    area
        Integrated intensity (counts × degrees).
    fwhm_g
        Gaussian FWHM (degrees).
    fwhm_l
        Lorentzian FWHM (degrees).
    """

    position: float
    area: float
    fwhm_g: float = 10.0
    fwhm_l: float = 0.0

    @classmethod
    def from_gsas2(cls, pos: float, intensity: float, sig: float, gam: float) -> Halo:
        """From GSAS-II background-peak values.

        pos in degrees, intensity per centidegree, σ² in centideg², γ in centideg.
        """
        return cls(pos, intensity / 100.0, np.sqrt(8 * LN2 * sig) / 100.0, gam / 100.0)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Halo intensity at ``x``."""
        peak = single_peak(self.position, self.area, self.fwhm_g, self.fwhm_l)
        return render_peaks(x, peak)  # type: ignore[return-value]


@dataclass(frozen=True)
class Background:
    """Chebyshev coefficients plus halos; evaluated over [lo, hi] (default: the data range)."""

    chebyshev: tuple[float, ...] = ()
    halos: tuple[Halo, ...] = field(default_factory=tuple)
    lo: float | None = None
    hi: float | None = None

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Background at ``x``."""
        x = np.asarray(x, float)
        y = np.zeros_like(x)
        if self.chebyshev:
            y += chebyshev_basis(x, len(self.chebyshev), self.lo, self.hi) @ np.asarray(
                self.chebyshev
            )
        for h in self.halos:
            y += h.evaluate(x)
        return y
