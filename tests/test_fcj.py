"""xtal's FCJ quadrature (xtal.diffraction.fcj): the Gauss rule, the node table, the plan.

References are independent of the rule under test: the analytic moments of the
weight (v^(−1/2) − 1), and a direct midpoint integration of the Finger–Cox–Jephcoat
weight in the paper's own variable 2φ.  The node table is checked on peaks
(positions, SH/L) that ``bench/fcj_rules.py`` did not derive it from.
"""

from __future__ import annotations

import numpy as np
import pytest

from xtal.diffraction.fcj import (
    _R_MAX,
    FCJ_RULES,
    MAX_NODES,
    check_fcj,
    fcj_nodes,
    fcj_plan,
    fcj_spread,
    gauss_fcj,
)
from xtal.diffraction.peaks import peaks_from_arrays
from xtal.diffraction.profile import make_plan, render_peaks
from xtal.errors import InputError

NEW_CASES = ((12.0, 0.02), (45.0, 0.002), (100.0, 0.04), (150.0, 0.03))


def pseudo_voigt(dx, fwhm, eta):
    s2 = fwhm**2 / (8 * np.log(2))
    gauss = np.exp(-0.5 * dx * dx / s2) / np.sqrt(2 * np.pi * s2)
    return (1 - eta) * gauss + eta * (fwhm / 2 / np.pi) / (dx * dx + fwhm * fwhm / 4)


def direct(x, pos, fwhm, shl, n=20000):
    """FCJ weight (S + H − h)/(h cos 2φ) over 2φ, midpoint rule in u = sqrt|2θ − 2φ|.

    Columns: the Gaussian (η = 0) and the Lorentzian (η = 1) peak."""
    c = np.cos(np.radians(pos))
    u = (np.arange(n) + 0.5) * np.sqrt(fcj_spread(np.array([pos]), shl)[0]) / n
    two_phi = pos - np.sign(c) * u**2
    h = np.sqrt(np.maximum(np.cos(np.radians(two_phi)) ** 2 / c**2 - 1, 1e-300))
    w = np.where(h < shl, (shl - h) / (h * np.abs(np.cos(np.radians(two_phi)))) * u, 0.0)
    w /= w.sum()
    out = np.zeros((x.size, 2))
    for k in np.array_split(np.arange(n), n // 1000):
        dx = x[:, None] - two_phi[None, k]
        out += np.column_stack([pseudo_voigt(dx, fwhm, eta) @ w[k] for eta in (0.0, 1.0)])
    return out


def drawn(x, pos, fwhm, eta, shl, n):
    """The peak from n quadrature nodes (plan given explicitly)."""
    _, sp, wt = fcj_nodes(np.array([pos]), np.array([fwhm]), shl, plan=np.array([n]))
    return pseudo_voigt(x[:, None] - sp[None, :], fwhm, eta) @ wt


def grid(pos, shl, fwhm):
    half = fcj_spread(np.array([pos]), shl)[0] + 12 * fwhm
    return np.arange(pos - half, pos + half, fwhm / 25)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, MAX_NODES])
def test_gauss_rule_reproduces_the_moments_of_the_fcj_weight(n):
    """Σ w_k v_k^j = ∫ v^j (v^(−1/2) − 1) dv = 1/(j + ½) − 1/(j + 1) for j < 2n."""
    v, w = gauss_fcj(n)
    assert np.all((v > 0) & (v < 1)) and np.all(w > 0)
    j = np.arange(2 * n)
    exact = 1 / (j + 0.5) - 1 / (j + 1.0)
    np.testing.assert_allclose(v[None, :] ** j[:, None] @ w, exact, rtol=1e-10)


def test_converged_reference_equals_direct_integration():
    """The 200-node rule used as 'converged' below is the FCJ integral to < 1e-6."""
    for pos, shl in NEW_CASES[::3]:
        for r in (0.5, 8.0):
            fwhm = fcj_spread(np.array([pos]), shl)[0] / r
            x = grid(pos, shl, fwhm)
            refs = direct(x, pos, fwhm, shl)
            for eta in (0.0, 1.0):
                ref = refs[:, int(eta)]
                ours = drawn(x, pos, fwhm, eta, shl, 200)
                assert np.abs(ours - ref).max() < 1e-6 * ref.max(), (pos, r, eta)


@pytest.mark.parametrize("rule", sorted(FCJ_RULES))
def test_node_table_keeps_the_stated_accuracy(rule):
    """At the largest spread the table allows n nodes, the drawn peak is within the rule's
    tolerance of the converged integral, on peaks the table was not derived from."""
    tol = FCJ_RULES[rule]
    for n in (1, 2, 3, 5, 12, 40):
        r = _R_MAX[rule][n - 1]
        for pos, shl in NEW_CASES:
            fwhm = fcj_spread(np.array([pos]), shl)[0] / r
            x = grid(pos, shl, fwhm)
            for eta in (0.0, 0.3, 0.7, 1.0):
                ref = drawn(x, pos, fwhm, eta, shl, 200)
                err = np.abs(drawn(x, pos, fwhm, eta, shl, n) - ref).max() / ref.max()
                assert err < tol, (n, pos, shl, eta, err)


@pytest.mark.parametrize("rule", sorted(FCJ_RULES))
def test_node_table_is_not_wasteful(rule):
    """A little beyond the table's limit for n nodes, n nodes no longer suffice on the peaks
    the table was derived from (bench/fcj_rules.py: CASES, ETAS)."""
    tol = FCJ_RULES[rule]
    for n in (1, 2, 4):
        r = 1.15 * _R_MAX[rule][n - 1]
        worst = 0.0
        for pos, shl in ((20.0, 0.03), (5.0, 0.05)):
            fwhm = fcj_spread(np.array([pos]), shl)[0] / r
            x = grid(pos, shl, fwhm)
            for eta in (0.0, 0.5, 1.0):
                ref = drawn(x, pos, fwhm, eta, shl, 200)
                err = np.abs(drawn(x, pos, fwhm, eta, shl, n) - ref).max() / ref.max()
                worst = max(worst, err)
        assert worst > tol, (n, worst)


def test_plan_takes_the_fewest_nodes_the_table_allows():
    pos = np.full(5, 30.0)
    spread = fcj_spread(pos[:1], 0.03)[0]
    table = _R_MAX["fast"]
    r = np.array([0.5 * table[0], 0.99 * table[0], 1.01 * table[0], table[4], 1e4])
    plan = fcj_plan(pos, spread / r, 0.03, "fast")
    assert plan.tolist() == [1, 1, 2, 5, MAX_NODES]
    assert fcj_plan(pos, spread / r, 0.0).tolist() == [0] * 5  # no asymmetry: no nodes
    # "exact" needs more nodes than "fast" for the same peaks
    assert np.all(fcj_plan(pos, spread / r, 0.03, "exact") >= plan)


def test_held_plan_keeps_the_profile_smooth_in_the_width():
    """A width change that crosses a node-count boundary does not make the profile jump
    when the plan is held (RenderPlan), as finite-difference derivatives need."""
    pos, shl = np.array([20.0]), 0.03
    fwhm = fcj_spread(pos, shl)[0] / _R_MAX["fast"][1]  # right at the 2 → 3 node boundary
    x = np.arange(19.0, 20.5, 0.002)

    def draw(g, plan=None):
        return render_peaks(x, peaks_from_arrays(pos, 1.0, g, 0.0, shl), plan=plan)

    wide, narrow = fwhm * (1 + 1e-6), fwhm * (1 - 1e-6)
    plan = make_plan(pos, np.array([wide]), np.zeros(1), shl)
    assert make_plan(pos, np.array([narrow]), np.zeros(1), shl).fcj[0] == plan.fcj[0] + 1
    held = np.abs(draw(narrow, plan) - draw(wide, plan)).max()
    free = np.abs(draw(narrow) - draw(wide)).max()
    assert held < 1e-5 * draw(wide).max() < free


def test_gsas2_quadrature_is_refused_with_a_pointer_to_gsas2():
    with pytest.raises(InputError, match="--engine gsas2") as err:
        check_fcj("gsas2")
    assert "\n" not in str(err.value) and len(str(err.value)) <= 300
    with pytest.raises(InputError, match="'fast' or 'exact'"):
        check_fcj("converged")
    with pytest.raises(InputError, match="--engine gsas2"):
        render_peaks(np.arange(10, 11, 0.01), peaks_from_arrays([10.5], 1.0, 0.05, 0.05, 0.02),
                     fcj="gsas2")


def test_recipe_with_the_gsas2_quadrature_is_refused_naming_the_file(tmp_path):
    from xtal.refine.recipe import load_recipe

    path = tmp_path / "old.toml"
    path.write_text('fcj = "gsas2"\n[[stage]]\nname = "s"\nrefine = ["phases.*.scale"]\n')
    with pytest.raises(InputError, match="--engine gsas2") as err:
        load_recipe(path)
    assert str(path) in str(err.value)
    path.write_text('fcj = "exact"\n[[stage]]\nname = "s"\nrefine = ["phases.*.scale"]\n')
    assert load_recipe(path).fcj == "exact"
    assert load_recipe("standard").fcj == "fast" and load_recipe("na3bs3").fcj == "fast"


@pytest.mark.parametrize("m", [2, 5, 64, 600])
def test_base_legendre_rule_agrees_with_numpy(m):
    # the Newton-built Gauss–Legendre rule against numpy's eigenvalue-built leggauss
    from xtal.diffraction.fcj import _legendre

    x, w = _legendre.__wrapped__(m)
    x0, w0 = np.polynomial.legendre.leggauss(m)
    assert np.abs(x - x0).max() < 1e-14
    assert np.abs(w / w0 - 1).max() < 1e-9
    assert abs(w.sum() - 2.0) < 1e-13  # ∫ 1 dx over [−1, 1]


@pytest.mark.parametrize("n", [1, 2, 5, 16, MAX_NODES])
def test_default_base_rule_gives_the_rules_of_a_finer_one(n):
    """The rules from the default m (≥ 2n) equal those from m = 600 (the reference: a
    discretisation finer by 4×) to 1e-13."""
    v, w = gauss_fcj(n)
    v600, w600 = gauss_fcj(n, 600)
    np.testing.assert_allclose(v, v600, rtol=0, atol=1e-13)
    np.testing.assert_allclose(w, w600, rtol=0, atol=1e-13)
