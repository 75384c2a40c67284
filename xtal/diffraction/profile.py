"""Peak shapes: TCH pseudo-Voigt with Finger–Cox–Jephcoat axial asymmetry.

Conventions (physics.md §5, GSAS-II constant-wavelength units)
-------------------------------------------------------------
* Gaussian variance σ² = U tan²θ + V tanθ + W (centidegrees²), Γ_G = sqrt(8 ln2 σ²).
* Lorentzian FWHM Γ_L = X / cosθ + Y tanθ + Z (centidegrees).
* Thompson, Cox & Hastings, J. Appl. Cryst. 20, 79 (1987): total FWHM Γ and
  mixing η from Γ_G and Γ_L; pV = η L + (1 − η) G, each of unit area.
* Finger, Cox & Jephcoat, J. Appl. Cryst. 27, 892 (1994), with S/L = H/L =
  SH/L / 2 (GSAS-II's single asymmetry parameter): each peak is the weighted sum
  of pseudo-Voigts at the nodes of a Gauss rule for the FCJ weight, chosen for a
  stated accuracy against the converged integral (:mod:`xtal.diffraction.fcj`).

Lorentzian tails
----------------
Nothing is cut off.  Each peak is evaluated exactly within ±5.5 Γ_b of its
centre (Γ_b: the FWHM of its width band, bands being factors of 2 in Γ, so Γ_b
is within √2 of the peak's own Γ).  From 2.5 Γ_b outwards its Lorentzian part is
handed over smoothly (a quintic switch between 2.5 and 5.5 Γ_b) to a tail term
that is *added analytically*: the tails of all peaks of a band are one
convolution of their stick intensities with the band's switched Lorentzian
kernel, done by FFT on a uniform grid of step Γ_b/6 and interpolated to the
data, with a second-order correction for each peak's own width.  Measured
against a brute-force evaluation of every peak at every point (PbSO4,
10–160°, see tests/test_profile.py) the largest difference, found in the hand-over
region of the strongest peak, is 1.8e-5 of the highest point for mixed profiles
(η 0.3–0.7) and grows with the Lorentzian fraction to 6.1e-5 for nearly Lorentzian
ones (η 0.75–0.97); the sums agree to < 1e-6, and a peak's drawn area equals its
integrated intensity to < 1e-5 apart from the part of its Lorentzian that falls
outside the evaluated 2θ range.

Precision: the work per window point (offsets, profiles, their derivatives, the tail
hand-over) is done in single precision, half the memory traffic of double, and the
offsets are formed in double before rounding; single precision's relative rounding
(6e-8) is three orders below the accuracy above.  The pattern is summed in double
(``np.bincount``), and the tails and every per-peak quantity stay double.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from xtal.diffraction.fcj import DEFAULT_FCJ, fcj_nodes, fcj_plan
from xtal.util.arrays import unique
from xtal.util.window_matrix import WindowMatrix

if TYPE_CHECKING:
    from xtal.diffraction.peaks import PeakList

__all__ = ["fcj_nodes", "fcj_plan", "make_plan", "render_peaks", "tch"]

LN2 = np.log(2.0)
MIN_FWHM = 1e-4  # degrees: no peak is drawn narrower (10× below any real instrument's)
BLEND_START = 2.5  # in units of the band FWHM
BLEND_END = 5.5
BAND_REF = 1e-3  # degrees: width bands are [BAND_REF·2^k, BAND_REF·2^(k+1))


def tch(fwhm_g: np.ndarray, fwhm_l: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total FWHM Γ and Lorentzian fraction η of the TCH pseudo-Voigt (TCH 1987, eqs 3–4)."""
    g = np.asarray(fwhm_g, float)
    lo = np.asarray(fwhm_l, float)
    gam = (
        g**5
        + 2.69269 * g**4 * lo
        + 2.42843 * g**3 * lo**2
        + 4.47163 * g**2 * lo**3
        + 0.07842 * g * lo**4
        + lo**5
    ) ** 0.2
    q = np.divide(lo, gam, out=np.zeros_like(gam), where=gam > 0)
    eta = 1.36603 * q - 0.47719 * q**2 + 0.11116 * q**3
    return gam, np.clip(eta, 0.0, 1.0)


def gaussian_fwhm(two_theta: np.ndarray, U: float, V: float, W: float) -> np.ndarray:
    """Γ_G (degrees) from Caglioti σ² = U tan²θ + V tanθ + W in centidegrees² (GSAS-II)."""
    t = np.tan(np.radians(np.asarray(two_theta) / 2.0))
    sig2 = U * t * t + V * t + W
    # keep σ² positive with a smooth floor (GSAS-II clips it), so that a least-squares
    # step into negative σ² still sees a gradient that leads back
    floor = 0.01
    sig2 = np.where(sig2 > floor, sig2, floor * np.exp(np.minimum(sig2, floor) / floor - 1.0))
    return np.sqrt(8.0 * LN2 * sig2) / 100.0


def lorentzian_fwhm(two_theta: np.ndarray, X: float, Y: float, Z: float = 0.0) -> np.ndarray:
    """Γ_L (degrees) = X / cosθ + Y tanθ + Z, X, Y, Z in centidegrees (GSAS-II)."""
    th = np.radians(np.asarray(two_theta) / 2.0)
    return np.maximum(X / np.cos(th) + Y * np.tan(th) + Z, 0.0) / 100.0


def _smoothstep(u: np.ndarray) -> np.ndarray:
    """Quintic switch: 0 for u ≤ BLEND_START, 1 for u ≥ BLEND_END, C² in between."""
    t = u - BLEND_START
    t /= BLEND_END - BLEND_START
    np.minimum(np.maximum(t, 0.0, out=t), 1.0, out=t)  # np.clip's wrapper costs more
    # t·t·t·(t·(6t − 15) + 10), evaluated in that order with two temporaries
    poly = 6.0 * t
    poly -= 15.0
    poly *= t
    poly += 10.0
    cube = t * t
    cube *= t
    cube *= poly
    return cube


def _lorentz(dx: np.ndarray, fwhm: np.ndarray | float) -> np.ndarray:
    hw = 0.5 * fwhm
    return (hw / np.pi) / (dx * dx + hw * hw)


def render_peaks(
    x: np.ndarray,
    peaks: PeakList,
    *,
    fcj: str = DEFAULT_FCJ,
    tails: bool = True,
    derivatives: bool = False,
    plan: RenderPlan | None = None,
) -> np.ndarray | tuple[np.ndarray, PeakProfiles]:
    """Sum of TCH pseudo-Voigt peaks with FCJ asymmetry evaluated at ``x``.

    Parameters
    ----------
    x
        2θ (degrees), increasing.
    peaks
        The peaks (:class:`xtal.diffraction.peaks.PeakList`): positions 2θ after
        zero/displacement shifts, integrated intensities (intensity × degrees),
        Gaussian and Lorentzian FWHM (degrees), SH/L = (S + H)/L with S = H (GSAS-II)
        and optional Bérar–Baldinozzi asymmetry (P1, P2, P3, P4) (J. Appl. Cryst. 26,
        128, 1993, FullProf's Asy1–Asy4): each peak below 2θ = 90° is multiplied by
        1 + [P1 Fa(z) + P2 Fb(z)]/tanθ + [P3 Fa(z) + P4 Fb(z)]/tan2θ with
        z = (2θ − 2θ_k)/Γ, Fa = 2z e^(−z²), Fb = 2(2z² − 3) Fa; Fa and Fb are odd, so
        areas are kept.
    fcj
        FCJ quadrature (Finger, Cox & Jephcoat 1994): ``"fast"`` (default, each peak
        within 1e-3 of its height of the converged integral) or ``"exact"`` (1e-5);
        see :mod:`xtal.diffraction.fcj`.
    tails
        Add the Lorentzian tails beyond the windows analytically (see module doc).
        With ``tails=False`` each peak is cut at its window, ±5.5 Γ_b.
    derivatives
        Also return the :class:`PeakProfiles` of the drawn peaks (for Jacobians
        of intensity parameters and for R_Bragg partitioning).
    plan
        The FCJ quadrature rule and width band of each peak; default: chosen
        here.  Reusing the plan of a previous call (``PeakProfiles.plan``) keeps
        these discrete choices fixed, as a finite-difference derivative needs.
    """
    x = np.asarray(x, float)
    y = np.zeros_like(x)
    pos, area = peaks.pos, peaks.area
    fwhm_g, fwhm_l, shl, bb = peaks.fwhm_g, peaks.fwhm_l, peaks.sh_l, peaks.bb
    if pos.size == 0:
        if derivatives:
            empty = np.zeros(0, int)
            return y, PeakProfiles(
                WindowMatrix.empty(x.size, 0), empty, np.zeros(0), 0, RenderPlan(empty, empty)
            )
        return y
    area = np.broadcast_to(np.asarray(area, float), pos.shape)
    gam, eta = tch(np.broadcast_to(fwhm_g, pos.shape), np.broadcast_to(fwhm_l, pos.shape))
    gam = np.maximum(gam, MIN_FWHM)
    fl = np.broadcast_to(np.asarray(fwhm_l, float), pos.shape)
    if plan is None:
        plan = make_plan(pos, fwhm_g, fwhm_l, shl, fcj)
    parent, spos, wsub = fcj_nodes(pos, gam, shl, fcj, plan.fcj)
    g_sub, eta_sub, a_sub = gam[parent], eta[parent], area[parent] * wsub

    # Width bands: factors of 2 in Γ on a fixed scale; the band width is the geometric centre.
    band = plan.band[parent]
    g_band = BAND_REF * 2.0 ** (band + 0.5)

    # -- core: exact pseudo-Voigt minus the tail handed to the FFT term -----------
    # per-sub-peak constants, so that the per-point work is a few multiply-adds
    half = BLEND_END * g_band
    lo = np.searchsorted(x, spos - half, side="left")
    hi = np.searchsorted(x, spos + half, side="right")
    count = hi - lo
    total = int(count.sum())
    if total:
        # per-sub-peak constants spread over each window with np.repeat (windows are
        # contiguous), so that the per-point work is a handful of multiply-adds
        def rep(a: np.ndarray) -> np.ndarray:
            # per-point values in single precision (module doc: Precision)
            return np.repeat(np.asarray(a, np.float32), count)

        start = np.cumsum(count) - count
        idx = np.repeat(lo - start, count) + np.arange(total)
        dx = (x[idx] - np.repeat(spos, count)).astype(np.float32)  # offsets formed in double
        d2 = dx * dx
        sig2 = g_sub * g_sub / (8.0 * LN2)
        hw2 = 0.25 * g_sub * g_sub
        hw_pi = 0.5 * g_sub / np.pi
        norm_g = (1.0 - eta_sub) / np.sqrt(2.0 * np.pi * sig2)
        gauss = np.exp(rep(-0.5 / sig2) * d2)  # un-normalised
        den = 1.0 / (d2 + rep(hw2))
        unit = rep(norm_g) * gauss + rep(eta_sub * hw_pi) * den  # unit-area pseudo-Voigt
        if bb is not None:
            unit *= _berar_baldinozzi(bb, x[idx] - rep(pos[parent]), rep(pos[parent]), rep(g_sub))
        val = unit * rep(a_sub)
        if derivatives:
            indptr = np.concatenate([[0], np.cumsum(count)])
            fg = np.broadcast_to(np.asarray(fwhm_g, float), pos.shape)
            args = ((x.size, count.size), idx, indptr, rep, dx, d2, gauss, den, sig2, hw2,
                    g_sub, eta_sub, norm_g, [v[parent] for v in _tch_partials(fg, fl, gam)])

            def mats() -> tuple:
                # built when a Jacobian first asks: a trial point that is rejected never does
                return _core_derivatives(*args)

            matrix = WindowMatrix(unit, idx, indptr, (x.size, count.size))
        if tails:
            # the tail handed over to the FFT term; the switch is 0 within BLEND_START·Γb
            # (in place, in the order of  a_t / dfar · (1 + c_t / dfar) · switch: a third
            # fewer passes over the window points, the same numbers)
            u = np.abs(dx)
            u *= rep(1.0 / g_band)
            switch = _smoothstep(u)
            a_t = rep(a_sub * eta_sub * g_sub / np.pi * 0.5)  # (Γ/Γb)·η·area·(Γb/2π)
            c_t = rep(0.25 * (g_band**2 - g_sub**2))  # second-order width correction
            dfar = rep(0.25 * g_band**2)
            dfar += d2
            c_t /= dfar
            c_t += 1.0
            a_t /= dfar
            a_t *= c_t
            a_t *= switch
            val -= a_t
        y += np.bincount(idx, weights=val, minlength=x.size)

    if tails:
        w1 = a_sub * eta_sub * g_sub / g_band
        w2 = w1 * 0.25 * (g_band**2 - g_sub**2)
        for b in unique(band):
            sel = band == b
            y += _tail_band(x, spos[sel], w1[sel], w2[sel], float(g_band[sel][0]))
    if derivatives:
        if not total:
            matrix = WindowMatrix.empty(x.size, spos.size)
            empty = (matrix, matrix, matrix)

            def mats() -> tuple:
                return empty

        return y, PeakProfiles(matrix, parent, wsub, pos.size, plan, lazy=mats)
    return y


def _tch_partials(fg: np.ndarray, fl: np.ndarray, gam: np.ndarray) -> tuple[np.ndarray, ...]:
    """∂Γ/∂Γ_G, ∂Γ/∂Γ_L, ∂η/∂Γ_G, ∂η/∂Γ_L of the TCH formulas (TCH 1987, eqs 3–4)."""
    g, lo = fg, fl
    dp_dg = (
        5 * g**4
        + 4 * 2.69269 * g**3 * lo
        + 3 * 2.42843 * g**2 * lo**2
        + 2 * 4.47163 * g * lo**3
        + 0.07842 * lo**4
    )
    dp_dl = (
        2.69269 * g**4
        + 2 * 2.42843 * g**3 * lo
        + 3 * 4.47163 * g**2 * lo**2
        + 4 * 0.07842 * g * lo**3
        + 5 * lo**4
    )
    g4 = 5.0 * gam**4
    dgam_dg, dgam_dl = dp_dg / g4, dp_dl / g4
    q = lo / gam
    deta_dq = 1.36603 - 2 * 0.47719 * q + 3 * 0.11116 * q * q
    deta_dg = deta_dq * (-lo / gam**2) * dgam_dg
    deta_dl = deta_dq * (1.0 / gam - lo / gam**2 * dgam_dl)
    return dgam_dg, dgam_dl, deta_dg, deta_dl


def _core_derivatives(
    shape, idx, indptr, rep, dx, d2, gauss, den, sig2, hw2, gam, eta, norm_g, partials
) -> tuple[WindowMatrix, WindowMatrix, WindowMatrix]:
    """∂pV/∂position, ∂pV/∂Γ_G, ∂pV/∂Γ_L of each sub-peak (unit area, core windows).

    Reuses the Gaussian (un-normalised) and 1/(x² + γ²) already computed for the
    pattern; Γ_G and Γ_L enter through the TCH Γ and η (``partials``).
    """
    dgg, dgl, deg, delo = partials
    inv_sig2 = 1.0 / sig2
    ge = rep(norm_g) * gauss  # (1 − η) G
    den2 = den * den
    d_pos = dx * (ge * rep(inv_sig2) + rep(2.0 * eta * 0.5 * gam / np.pi) * den2)
    d_gam = (
        ge * (d2 * rep(inv_sig2) - 1.0) * rep(1.0 / gam)
        + rep(eta * 0.5 / np.pi) * (d2 - rep(hw2)) * den2
    )
    d_eta = rep(0.5 * gam / np.pi) * den - rep(1.0 / np.sqrt(2.0 * np.pi * sig2)) * gauss

    def mat(data: np.ndarray) -> WindowMatrix:
        return WindowMatrix(data, idx, indptr, shape)

    return (
        mat(d_pos),
        mat(d_gam * rep(dgg) + d_eta * rep(deg)),
        mat(d_gam * rep(dgl) + d_eta * rep(delo)),
    )


def _berar_baldinozzi(
    p: tuple[float, float, float, float], dx: np.ndarray, pos: np.ndarray, fwhm: np.ndarray
) -> np.ndarray:
    """Multiplicative Bérar–Baldinozzi asymmetry factor (see :func:`render_peaks`)."""
    z = dx / fwhm
    fa = 2.0 * z * np.exp(-z * z)
    fb = 2.0 * (2.0 * z * z - 3.0) * fa
    th = np.radians(pos / 2.0)
    low = pos < 90.0
    corr = (p[0] * fa + p[1] * fb) / np.tan(th) + (p[2] * fa + p[3] * fb) / np.tan(2.0 * th)
    return 1.0 + np.where(low, corr, 0.0)


@dataclass(frozen=True)
class RenderPlan:
    """Discrete choices of :func:`render_peaks` for each peak.

    Attributes
    ----------
    fcj
        FCJ quadrature nodes of each peak (:func:`~xtal.diffraction.fcj.fcj_plan`).
    band
        Width band: Γ_b = BAND_REF · 2^(band + ½).
    """

    fcj: np.ndarray
    band: np.ndarray
    shl: float = 0.0  # the SH/L the FCJ rules were chosen for

    def suits(self, shl: float, n_peaks: int) -> bool:
        """Still adequate for SH/L ``shl``: node counts follow the spread, ∝ (SH/L)²."""
        if self.band.size != n_peaks:
            return False
        if self.shl <= 0 or shl <= 0:
            return self.shl == shl
        return abs(shl / self.shl - 1.0) < 0.1


def make_plan(
    pos: np.ndarray,
    fwhm_g: np.ndarray,
    fwhm_l: np.ndarray,
    shl: float,
    fcj: str = DEFAULT_FCJ,
) -> RenderPlan:
    """The discrete choices :func:`render_peaks` makes for these peaks."""
    pos = np.asarray(pos, float)
    fl = np.broadcast_to(np.asarray(fwhm_l, float), pos.shape)
    gam, _ = tch(np.broadcast_to(fwhm_g, pos.shape), fl)
    gam = np.maximum(gam, MIN_FWHM)
    rules = fcj_plan(pos, gam, shl, fcj)
    return RenderPlan(rules, np.floor(np.log2(gam / BAND_REF)).astype(int), float(shl))


@dataclass(frozen=True)
class PeakProfiles:
    """Unit-area profile of every drawn peak, as a sparse (points × sub-peaks) matrix.

    Sub-peak ``k`` (an FCJ quadrature node) belongs to peak ``parent[k]`` with
    weight ``weight[k]``.  The profiles are those of the core windows (±5.5 Γ_b);
    the analytic tails beyond them (≈ 2 % of a Lorentzian) are not included, so
    products with these matrices are good to that level, which is what
    least-squares derivatives and R_Bragg partitioning need.
    """

    matrix: WindowMatrix
    parent: np.ndarray
    weight: np.ndarray
    n_peaks: int
    plan: RenderPlan  # the discrete choices made for each peak
    d_pos: WindowMatrix | None = None  # ∂/∂position (TCH pV, no asymmetry factor)
    d_fwhm_g: WindowMatrix | None = None  # ∂/∂Γ_G through the TCH formulas
    d_fwhm_l: WindowMatrix | None = None  # ∂/∂Γ_L
    lazy: Callable[[], tuple] | None = field(default=None, repr=False, compare=False)

    def derivative(self, which: str) -> WindowMatrix:
        """``d_pos``, ``d_fwhm_g`` or ``d_fwhm_l``, built on first use."""
        if getattr(self, which) is None and self.lazy is not None:
            for name, m in zip(("d_pos", "d_fwhm_g", "d_fwhm_l"), self.lazy(), strict=True):
                object.__setattr__(self, name, m)
        return getattr(self, which)

    def apply(self, values: np.ndarray, which: str = "matrix") -> np.ndarray:
        """Σ_peaks M[:, peak] · values[peak] for M = ``which`` (``matrix``, ``d_pos``, …)."""
        v = np.asarray(values, float)[self.parent]
        v = v * (self.weight if v.ndim == 1 else self.weight[:, None])
        m = self.matrix if which == "matrix" else self.derivative(which)
        return m @ v

    def peak_sums(self, values: np.ndarray) -> np.ndarray:
        """Σ_points profile[point, peak] · values[point], for each peak."""
        per_sub = self.matrix.rdot(np.asarray(values, float)) * self.weight
        return np.bincount(self.parent, weights=per_sub, minlength=self.n_peaks)


@lru_cache(maxsize=64)
def _tail_kernels(n: int, gb: float, h: float) -> tuple[int, np.ndarray, np.ndarray]:
    """FFT size and spectra of the switched Lorentzian tail kernels of band Γb on n points
    spaced h."""
    offs = np.arange(-(n - 1), n) * h
    k1 = _lorentz(offs, gb) * _smoothstep(np.abs(offs) / gb)
    k2 = k1 / (offs * offs + 0.25 * gb * gb)
    # outputs n−1 … 2n−2 of the linear convolution need no more than 2n − 1 points: with a
    # circular one of that size, no term of those outputs wraps around
    size = _fast_length(2 * n - 1)
    return size, np.fft.rfft(k1, size), np.fft.rfft(k2, size)


@lru_cache(maxsize=256)
def _fast_length(n: int) -> int:
    """The smallest 2^a·3^b·5^c ≥ ``n``: a length numpy's pocketfft transforms fastest.

    (Frigo & Johnson, Proc. IEEE 93, 216 (2005): mixed-radix FFTs are quickest for
    lengths with small prime factors; scipy's ``next_fast_len(real=True)`` picks the
    same 5-smooth lengths.)
    """
    best = 1 << max(n - 1, 0).bit_length()  # the next power of two always qualifies
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            # the smallest power of two that brings p35 to n or above
            q = p35 << max(0, (-(-n // p35) - 1).bit_length())
            best = min(best, q)
            p35 *= 3
        p5 *= 5
    return best


def _tail_band(
    x: np.ndarray, pos: np.ndarray, w1: np.ndarray, w2: np.ndarray, gb: float
) -> np.ndarray:
    """Σ_p L_Γb(x − p)·switch(|x − p|/Γb)·[w1_p + w2_p/((x − p)² + Γb²/4)], by FFT.

    The w2 term corrects, to second order, for the peak's own width differing
    from the band's: L_Γ(x) ≈ (Γ/Γb)·L_Γb(x)·[1 + (Γb² − Γ²)/(4x² + Γb²)].
    """
    span = max(x[-1], pos.max()) - min(x[0], pos.min())
    # Γb/6 resolves the switched kernel; a grid of 2²¹ points bounds the memory even for a
    # peak a refinement step has made absurdly narrow (its tail is then coarser)
    h = max(gb / 6.0, span / 2**21)
    lo = min(x[0], pos.min()) - 2 * h
    hi = max(x[-1], pos.max()) + 2 * h
    n = int(np.ceil((hi - lo) / h)) + 1
    # cloud-in-cell deposit keeps the first moment of each stick
    f = (pos - lo) / h
    i0 = np.floor(f).astype(int)
    frac = f - i0

    def deposit(w: np.ndarray) -> np.ndarray:
        st = np.bincount(i0, weights=w * (1 - frac), minlength=n + 1)
        st += np.bincount(i0 + 1, weights=w * frac, minlength=n + 1)
        return st[:n]

    # linear convolution by real FFTs (the kernel spans the whole grid)
    size, k1_hat, k2_hat = _tail_kernels(n, gb, h)
    spec = np.fft.rfft(deposit(w1), size) * k1_hat + np.fft.rfft(deposit(w2), size) * k2_hat
    tail = np.fft.irfft(spec, size)[n - 1 : 2 * n - 1]
    grid = lo + np.arange(n) * h
    return np.interp(x, grid, tail)
