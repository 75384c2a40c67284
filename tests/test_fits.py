"""Hamilton's R-ratio test and the reflections only one fit has (xtal.analysis.fits).

References independent of the F quantile xtal calls: for b = 1, F_{1,ν} is the square of
Student's t_ν (two-sided), and for ν → ∞, b·F_{b,ν} → χ²_b; and the printed value
F_{1,20,0.05} = 4.35 of standard F tables, which gives R_{1,20,0.05} = sqrt(1 + 4.35/20).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from xtal.analysis.fits import extra_reflections, hamilton_critical, hamilton_test
from xtal.diffraction.instrument import Instrument
from xtal.errors import InputError


@pytest.mark.parametrize("nu", [5, 20, 100, 6973])
@pytest.mark.parametrize("alpha", [0.1, 0.05, 0.01])
def test_b1_is_students_t(nu: int, alpha: float) -> None:
    t = stats.t.isf(alpha / 2, nu)
    assert hamilton_critical(1, nu, alpha) == pytest.approx(math.sqrt(1 + t * t / nu), rel=1e-10)


@pytest.mark.parametrize("b", [1, 11, 20])
def test_large_nu_is_chi_square(b: int) -> None:
    nu = 10**8
    r = hamilton_critical(b, nu, 0.05)
    assert (r * r - 1) * nu == pytest.approx(stats.chi2.isf(0.05, b), rel=1e-3)


def test_printed_f_table() -> None:
    assert hamilton_critical(1, 20, 0.05) == pytest.approx(math.sqrt(1 + 4.35 / 20), abs=5e-4)


def test_outcome_and_p_value() -> None:
    n = 7001
    crit = hamilton_critical(11, n - 28, 0.05)
    # a general model exactly at the critical ratio has p = α
    t = hamilton_test(("avg", crit * 0.05, 17), ("ord", 0.05, 28), n)
    assert (t.restricted, t.general, t.b, t.n_minus_m) == ("avg", "ord", 11, n - 28)
    assert t.p_value == pytest.approx(0.05, rel=1e-6)
    # argument order does not matter; the smaller model is the hypothesis
    better = hamilton_test(("ord", 0.04, 28), ("avg", 0.05, 17), n)
    assert better.significant and better.preferred == "ord" and better.p_value < 1e-10
    worse = hamilton_test(("avg", 0.045, 17), ("ord", 0.0726, 28), n)
    assert not worse.significant and worse.preferred == "avg" and worse.p_value == 1.0
    assert "not significantly better" in worse.verdict()
    with pytest.raises(InputError, match="same number of parameters"):
        hamilton_test(("a", 0.05, 17), ("b", 0.04, 17), n)
    with pytest.raises(InputError, match="α"):
        hamilton_test(("a", 0.05, 17), ("b", 0.04, 18), n, alpha=1.5)


def test_extra_reflections_window_and_noise() -> None:
    inst = Instrument()
    lam = inst.lam1
    x = np.arange(10.0, 40.0, 0.01)
    sigma = np.full(x.size, 3.0)
    yo = np.full(x.size, 9.0)
    yref = np.full(x.size, 9.0)

    def d_at(tt: float) -> float:
        return lam / (2 * math.sin(math.radians(tt / 2)))

    ref_d = np.array([d_at(20.0)])
    table = {"hkl": [[1, 0, 0], [1, 1, 0], [2, 0, 0], [0, 2, 0]],
             "d": [d_at(20.02), d_at(25.0), d_at(30.0), d_at(30.001)],
             "two_theta": [20.02, 25.0, 30.0, 30.001], "i_calc": [5.0, 7.0, 2.0, 1.0]}
    yo[np.abs(x - 25.0) < 0.05] += 10.0  # what the reference fit leaves at 25°
    rows = extra_reflections("fit", "P", table, ref_d, inst, (x, yo, sigma, yref))
    # 20.02° lies within one FWHM of the reference's 20°; 30.000 and 30.001 are one peak
    assert [r.hkl for r in rows] == [((1, 1, 0),), ((2, 0, 0), (0, 2, 0))]
    r25, r30 = rows
    assert r30.i_calc == pytest.approx(3.0)
    win = np.abs(x - 25.0) <= r25.fwhm
    assert r25.sigma_i == pytest.approx(0.01 * 3.0 * math.sqrt(win.sum()), rel=1e-6)
    assert r25.residual == pytest.approx(0.01 * 10.0 * np.sum(np.abs(x - 25.0) < 0.05), rel=1e-6)
    assert r25.separation == pytest.approx(5.0, abs=1e-6)
