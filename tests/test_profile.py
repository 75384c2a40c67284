"""Peak shapes: FCJ asymmetry, analytic tails, areas, Kα2 (physics.md §5).

References are independent of the code under test: a direct numerical
integration of the Finger–Cox–Jephcoat weight function written in the paper's
own variable 2φ, a brute-force evaluation of every peak at every point, the
analytic Lorentzian area outside a range, and Bragg's law.
"""

from __future__ import annotations

import numpy as np
import pytest

from xtal.diffraction.instrument import Instrument
from xtal.diffraction.peaks import peaks_from_arrays
from xtal.diffraction.profile import fcj_nodes, render_peaks, tch
from xtal.diffraction.simulate import PhasePattern, PhaseTerms, lorentz_polarization
from xtal.io.cif import read_cif


def pseudo_voigt(dx, fwhm, eta):
    s2 = fwhm**2 / (8 * np.log(2))
    gauss = np.exp(-0.5 * dx * dx / s2) / np.sqrt(2 * np.pi * s2)
    lorentz = (fwhm / 2 / np.pi) / (dx * dx + fwhm * fwhm / 4)
    return (1 - eta) * gauss + eta * lorentz


def fcj_direct(x, pos, fwhm_g, fwhm_l, shl, n=8000):
    """FCJ (1994) eq. for S = H: W(2φ) ∝ (H + S − h)/(h cos 2φ), h = L sqrt(cos²2φ/cos²2θ − 1),
    integrated over 2φ by the midpoint rule in u, 2θ − 2φ = u², which removes the 1/h
    singularity (error ∝ 1/n²: < 1e-8 of the peak height with 8000 points here)."""
    H = S = shl / 2
    c = np.cos(np.radians(pos))
    side = 1 if c > 0 else -1
    c_min = np.clip(c * np.sqrt(1 + (H + S) ** 2), -1, 1)
    dmax = abs(np.degrees(np.arccos(c_min)) - pos)
    u = (np.arange(n) + 0.5) * np.sqrt(dmax) / n
    two_phi = pos - side * u**2
    h = np.sqrt(np.maximum(np.cos(np.radians(two_phi)) ** 2 / c**2 - 1, 1e-300))
    w = (H + S - h) / (2 * H * S * h * np.abs(np.cos(np.radians(two_phi)))) * 2 * u
    w = np.where(h < H + S, w, 0)
    w /= w.sum()
    fwhm, eta = tch(fwhm_g, fwhm_l)
    return sum(
        pseudo_voigt(x[:, None] - two_phi[None, k], fwhm, eta) @ w[k]
        for k in np.array_split(np.arange(n), n // 1000)
    )


@pytest.mark.parametrize("pos,shl", [(10.0, 0.04), (15.0, 0.03), (60.0, 0.03), (170.0, 0.03)])
def test_fcj_matches_direct_integration(pos, shl):
    """Each rule keeps its stated accuracy against the FCJ integral computed independently."""
    x = np.arange(pos - 1.5, min(pos + 1.5, 179.9), 0.001)
    ref = fcj_direct(x, pos, 0.05, 0.05, shl)
    c_ref = np.trapezoid(x * ref, x) / np.trapezoid(ref, x)
    fwhm, eta = tch(0.05, 0.05)
    for rule, tol in (("fast", 1e-3), ("exact", 1e-5)):
        _, shifted, weight = fcj_nodes(np.array([pos]), np.array([fwhm]), shl, rule)
        ours = pseudo_voigt(x[:, None] - shifted[None, :], fwhm, eta) @ weight
        assert np.abs(ours - ref).max() < tol * ref.max(), rule
        # the asymmetry moves the centroid toward 90° by the same amount in both
        assert abs(np.trapezoid(x * ours, x) / np.trapezoid(ours, x) - c_ref) < 1e-5
        # drawn with the analytic tails, which alone differ from a lone pseudo-Voigt by
        # 2.8e-5 of its height here (see test_tails_match_brute_force_for_a_full_pattern)
        drawn = render_peaks(x, peaks_from_arrays([pos], 1.0, 0.05, 0.05, shl), fcj=rule)
        assert np.abs(drawn - ref).max() < (tol + 3e-5) * ref.max(), rule


@pytest.mark.parametrize("rule", ["fast", "exact"])
def test_fcj_weights_sum_to_one_and_vanish_without_asymmetry(rule):
    pos = np.array([12.0, 45.0, 89.0, 135.0])
    fw = np.full(4, 0.05)
    parent, shifted, weight = fcj_nodes(pos, fw, 0.03, rule)
    assert np.allclose(np.bincount(parent, weights=weight), 1.0)
    assert np.all(weight >= 0)
    assert np.all(shifted[pos[parent] < 90] <= pos[parent][pos[parent] < 90])
    assert np.all(shifted[pos[parent] > 90] >= pos[parent][pos[parent] > 90])
    parent, shifted, weight = fcj_nodes(pos, fw, 0.0, rule)
    assert np.array_equal(shifted, pos) and np.all(weight == 1)


@pytest.mark.parametrize(
    "pos,fg,fl", [(80, 0.05, 0.05), (15, 0.05, 0.08), (150, 0.1, 0.2), (40, 0.3, 0.0)]
)
def test_each_peak_integrates_to_its_intensity(pos, fg, fl):
    """Area drawn = integrated intensity, less only the Lorentzian outside 10–160° (analytic)."""
    x = np.arange(10, 160, 0.0025)
    y = render_peaks(x, peaks_from_arrays([pos], 1.0, fg, fl, 0.03))
    fwhm, eta = tch(fg, fl)
    outside = eta * (
        1 - (np.arctan((160 - pos) / (fwhm / 2)) + np.arctan((pos - 10) / (fwhm / 2))) / np.pi
    )
    assert abs(np.trapezoid(y, x) - (1 - outside)) < 1e-4
    # cutting at the core window instead would lose up to several tenths of a percent
    cut = render_peaks(x, peaks_from_arrays([pos], 1.0, fg, fl, 0.03), tails=False)
    assert np.trapezoid(cut, x) <= np.trapezoid(y, x) + 1e-9


@pytest.mark.parametrize(("X", "Y", "bound"), [
    (1.0, 2.0, 2e-5),   # mixed profiles, η 0.3–0.7: the stated 1.8e-5
    (5.0, 10.0, 7e-5),  # nearly Lorentzian, η 0.75–0.97: the stated 6.1e-5
])
def test_tails_match_brute_force_for_a_full_pattern(shared, X, Y, bound):
    """PbSO4 10–160°: fast rendering vs every sub-peak evaluated at every point."""
    phase = read_cif(shared / "real/pbso4_cpd_xray/PbSO4-Wyckoff.cif")
    inst = Instrument(
        lam1=1.5405, lam2=1.5443, ratio=0.5, polarization=0.7, sh_l=0.03, X=X, Y=Y
    )
    x = np.arange(10, 160, 0.025)
    pk = PhasePattern(phase, inst, 160.0).peaks(inst, PhaseTerms(), 10, 160)
    fast = render_peaks(x, pk)
    fwhm, eta = tch(pk.fwhm_g, pk.fwhm_l)
    parent, shifted, weight = fcj_nodes(pk.pos, fwhm, inst.sh_l)
    brute = np.zeros_like(x)
    for p, s, w in zip(parent, shifted, weight, strict=True):
        brute += pk.area[p] * w * pseudo_voigt(x - s, fwhm[p], eta[p])
    assert np.abs(fast - brute).max() < bound * brute.max()
    assert abs(fast.sum() - brute.sum()) < 1e-5 * brute.sum()


def test_kalpha2_position_and_intensity(shared):
    """Kα2 sits where Bragg's law puts it, with I(Kα2)/I(Kα1) × the LP ratio."""
    phase = read_cif(shared / "structures/Na2S_antifluorite.cif")
    both = Instrument(sh_l=0.0, U=0, V=0, W=1, X=0.5, Y=0, ratio=0.5)
    only1 = both.replace(lam2=None)
    x = np.arange(22, 25.5, 0.0005)  # the 111 reflection only
    y_both = PhasePattern(phase, both, 25.5).render(x, both, PhaseTerms())
    y_one = PhasePattern(phase, only1, 25.5).render(x, only1, PhaseTerms())
    ka2 = y_both - y_one
    d111 = phase.cell.a / np.sqrt(3)
    tth1 = 2 * np.degrees(np.arcsin(both.lam1 / (2 * d111)))
    tth2 = 2 * np.degrees(np.arcsin(both.lam2 / (2 * d111)))
    assert abs(x[np.argmax(ka2)] - tth2) < 1e-3
    assert abs(x[np.argmax(y_one)] - tth1) < 1e-3
    lp = lorentz_polarization(np.array([tth2, tth1]), both.polarization)
    ratio = np.trapezoid(ka2, x) / np.trapezoid(y_one, x)
    assert ratio == pytest.approx(0.5 * lp[0] / lp[1], rel=2e-3)
    assert ratio == pytest.approx(0.5, rel=0.01)


def test_fft_lengths_are_those_scipy_calls_fast():
    # the tail convolution pads to a 5-smooth length; scipy's next_fast_len is the reference
    from scipy.fft import next_fast_len

    from xtal.diffraction.profile import _fast_length

    for n in [1, 2, 7, 11, 97, 1000, 1021, 4097, 30031, 65537, 131071, 999_983]:
        assert _fast_length(n) == next_fast_len(n, real=True), n
