"""Refinement mechanics: esds that mean what they say, and clean stops.

The self-consistency test draws a pattern with xtal itself, adds Poisson noise
and refines from a perturbed start: every refined parameter must come back
within 3 esd of the value used.  This checks the esds (covariance × χ²_ν), not
the physics, which the validation tests check against other programs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from xtal.app.refine import refine
from xtal.diffraction.background import chebyshev_basis
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.diffraction.simulate import PhasePattern, PhaseTerms
from xtal.errors import InputError
from xtal.io.library import load_phase
from xtal.refine.recipe import parse_recipe

TRUE_INST = Instrument(zero=0.021, U=3.0, V=-1.0, W=4.0, X=1.2, Y=2.5, sh_l=0.02)
RECIPE = parse_recipe(
    {
        "background": {"chebyshev": 3},
        "constraints": [
            "equal: phases.Na3BS3-trigonal.sites.Na*.biso",
            "equal: phases.Na3BS3-trigonal.sites.S*.biso",
        ],
        "stage": [
            {"name": "scale", "refine": ["phases.*.scale", "background.chebyshev.*"]},
            {"name": "cell", "refine": ["phases.*.cell.*", "instrument.zero"], "cycles": 15},
            {"name": "profile", "refine": ["instrument.W", "instrument.X"], "cycles": 15},
            {
                "name": "adp",
                "refine": [
                    "phases.*.sites.Na1.biso",
                    "phases.*.sites.Na2.biso",
                    "phases.*.sites.S1.biso",
                    "phases.*.sites.S2.biso",
                ],
                "cycles": 20,
                "tolerance": 1e-6,
            },
        ],
    }
)


def _simulated(phase, seed=7):
    x = np.arange(10.0, 80.0, 0.02)
    y = 1.5e-2 * PhasePattern(phase, TRUE_INST, 80.0).render(x, TRUE_INST, PhaseTerms())
    y += chebyshev_basis(x, 3) @ np.array([300.0, -80.0, 30.0])
    counts = np.random.default_rng(seed).poisson(y).astype(float)
    return Pattern(x, counts, name="simulated"), y


def test_refined_values_lie_within_three_esd_of_the_truth():
    true = load_phase("Na3BS3-trigonal")
    sites = [
        replace(s, b_iso=1.4 if s.element == "Na" else 0.8 if s.element == "S" else s.b_iso)
        for s in true.sites
    ]
    true = true.with_sites(sites)
    pattern, _ = _simulated(true)
    start = true.with_cell(
        true.cell.replace(a=true.cell.a + 0.004, b=true.cell.b + 0.004, c=true.cell.c - 0.006)
    )
    start = start.with_sites([replace(s, b_iso=1.0) for s in true.sites])
    res = refine(pattern, [start], TRUE_INST.replace(zero=0.0, W=6.0, X=0.5), RECIPE)
    assert res.stopped is None
    truth = {
        "phases.Na3BS3-trigonal.cell.a": true.cell.a,
        "phases.Na3BS3-trigonal.cell.c": true.cell.c,
        "instrument.zero": TRUE_INST.zero,
        "instrument.W": TRUE_INST.W,
        "instrument.X": TRUE_INST.X,
        "phases.Na3BS3-trigonal.sites.Na1.biso": 1.4,
        "phases.Na3BS3-trigonal.sites.S1.biso": 0.8,
        "background.chebyshev.0": 300.0,
        "background.chebyshev.1": -80.0,
        "background.chebyshev.2": 30.0,
    }
    for name, value in truth.items():
        v = res.value(name)
        assert v.esd is not None and v.esd > 0, name
        assert abs(v.value - value) < 3 * v.esd, (name, v.value, v.esd, value)
    assert 0.8 < res.gof < 1.2  # a correct model fits Poisson noise to χ²_ν ≈ 1


def test_identical_phases_do_not_stop_and_the_degeneracy_is_named():
    """Two copies of one phase: no step is taken along the direction the data cannot
    resolve (their scale difference), the refinement goes on, the fit is still right."""
    phase = load_phase("Na2S")
    twin = replace(phase, name="Na2S-copy")
    pattern, _ = _simulated(phase)
    res = refine(pattern, [phase, twin], TRUE_INST, RECIPE)
    assert res.stopped is None
    ill = [w for w in res.warnings if "ill-conditioned" in w]
    assert any("phases.Na2S.scale" in w and "phases.Na2S-copy.scale" in w for w in ill)
    assert np.all(np.isfinite(res.curves.calculated))
    assert 0.8 < res.gof < 1.2  # the pair still fits the pattern to the noise
    # every correlation comes from one positive semi-definite matrix: |ρ| ≤ 1
    assert all(abs(r) <= 1.0 for _, _, r in res.correlations)


def test_phase_with_no_peaks_in_range_is_an_input_error():
    phase = load_phase("Na2S")
    pattern, _ = _simulated(phase)
    with pytest.raises(InputError, match="no reflection"):
        refine(pattern.select(10.0, 11.0), [phase], TRUE_INST, RECIPE)


def test_range_without_points_is_an_input_error():
    pattern, _ = _simulated(load_phase("Na2S"))
    with pytest.raises(InputError, match="no data points"):
        refine(pattern, ["Na2S"], TRUE_INST, RECIPE, two_theta_range=(85.0, 90.0))


def test_distance_restraint_pulls_towards_its_target():
    """B1–S1 lie in one z plane of the trigonal model, so their distance is a/√3 (2.252 Å
    for a = 3.901 Å): restrained to 2.26 Å with a tiny σ, the cell a must follow it."""
    from xtal.refine.parameters import Restraint

    phase = load_phase("Na3BS3-trigonal")
    pattern, _ = _simulated(phase)
    recipe = parse_recipe(
        {
            "background": {"chebyshev": 3},
            "stage": [
                {"name": "scale", "refine": ["phases.*.scale", "background.chebyshev.*"]},
                {"name": "cell", "refine": ["phases.*.cell.*"], "cycles": 20, "tolerance": 1e-6},
            ],
        }
    )
    free = refine(pattern, [phase], TRUE_INST, recipe)
    held = refine(
        pattern,
        [phase],
        TRUE_INST,
        recipe,
        restraints=[Restraint("Na3BS3-trigonal", "B1", "S1", 2.26, 1e-5)],
    )
    a_free = free.phases["Na3BS3-trigonal"].cell["a"].value
    a_held = held.phases["Na3BS3-trigonal"].cell["a"].value
    assert a_free == pytest.approx(phase.cell.a, abs=2e-3)  # the data's own value
    target = 2.26 * np.sqrt(3)
    assert abs(a_held - target) < 0.1 * abs(a_free - target)  # the restraint wins


def test_preferred_orientation_needs_an_axis():
    phase = load_phase("Na2S")
    pattern, _ = _simulated(phase)
    recipe = parse_recipe(
        {
            "background": {"chebyshev": 3},
            "stage": [
                {
                    "name": "scale",
                    "refine": ["phases.*.scale", "background.chebyshev.*", "phases.*.po.ratio"],
                }
            ],
        }
    )
    res = refine(pattern, [phase], TRUE_INST, recipe)
    assert any("preferred-orientation axis" in w for w in res.warnings)
    res = refine(pattern, [phase], TRUE_INST, recipe, preferred_orientation={"Na2S": (1, 1, 1)})
    assert res.stopped is None and res.value("phases.Na2S.po.ratio").esd is not None


def test_analytic_derivative_esds_agree_with_finite_differences(shared):
    """esds from the analytic profile derivatives vs from differences of the drawn pattern,
    profile parameters (U, V, W, X, Y) included."""
    from xtal.refine.recipe import Stage, load_recipe

    root = shared / "synthetic/na3bs3_ht200_gsas2"
    base = load_recipe("na3bs3")
    profile = Stage("profile", tuple(f"instrument.{k}" for k in "UVWXY"), cycles=20)
    recipe = replace(base, stages=(*base.stages, profile))
    args = (root / "pattern.xy", ["Na3BS3-trigonal", "Na2S"], root / "instrument.instprm", recipe)
    fast, exact = refine(*args), refine(*args, exact_esds=True)
    compared = 0
    for name, v in exact.parameters.items():
        if v.esd:
            assert fast.parameters[name].esd == pytest.approx(v.esd, rel=0.03), name
            compared += 1
    assert compared >= 10
    assert all(exact.parameters[f"instrument.{k}"].esd for k in "UVWXY")


def test_linear_algebra_helpers_agree_with_scipy():
    # numpy stands in for scipy.linalg on the refinement path (one import less at start);
    # scipy's null_space, block_diag and Cholesky solve are the references
    import scipy.linalg

    from xtal.refine.parameters import _null_space
    from xtal.refine.solver import _solve_normal, _with_identity

    rng = np.random.default_rng(7)
    for rows, cols in [(1, 4), (2, 6), (3, 3), (4, 9)]:
        m = rng.normal(size=(rows, cols))
        if rows > 1:
            m[-1] = m[0] + m[1] if rows > 2 else 2 * m[0]  # rank deficient
        a, ref = _null_space(m, 1e-10), scipy.linalg.null_space(m, rcond=1e-10)
        assert a.shape == ref.shape
        assert np.allclose(m @ a, 0, atol=1e-12) and np.allclose(a.T @ a, np.eye(a.shape[1]))
        assert np.allclose(a @ a.T, ref @ ref.T, atol=1e-12)  # the same subspace
    amap = rng.normal(size=(5, 3))
    assert np.array_equal(_with_identity(amap, 2), scipy.linalg.block_diag(amap, np.eye(2)))
    j = rng.normal(size=(40, 6))
    normal, rhs = j.T @ j, rng.normal(size=6)
    assert np.allclose(_solve_normal(normal, rhs),
                       scipy.linalg.solve(normal, rhs, assume_a="pos"), rtol=1e-10)
    singular = normal.copy()
    singular[:, -1] = singular[-1, :] = 0.0  # not positive definite: least squares instead
    expect = np.linalg.lstsq(singular, rhs, rcond=None)[0]
    assert np.allclose(_solve_normal(singular, rhs), expect)
