"""xtal's pattern against one computed by GSAS-II (../shared/data/synthetic/na3bs3_ht200_gsas2).

GSAS-II 5.7.9 computed that pattern from the values in ``truth.json`` (SH/L 0.02)
and added Poisson noise.  With the same values here, only the two phase scales
free (solved by linear least squares), Hill–Howard weight fractions from the scales
must equal GSAS-II's.  This checks positions, intensities, LP, profile, Kα2,
background, halo and the weight-fraction convention all at once against another
program.

The patterns are not equal to the noise: xtal integrates the Finger–Cox–Jephcoat
axial divergence to a stated accuracy (xtal.diffraction.fcj), GSAS-II with its own
quadrature, which differs from the converged integral (physics.md §5: scale-free
misfit 0.084 at SH/L 0.02).  Measured here: misfit 0.085 with either of xtal's
rules, 0.14 with no asymmetry at all, ≈ 0.000 with the GSAS-II-derived quadrature
xtal had before (Rwp/Rexp 1.0001 then, 1.194 now).  The misfit is a noise-corrected
estimate of the scale-free misfit of the Bragg part, ‖y_G − C s‖ / ‖y_G‖ with
y_G the GSAS-II pattern less its background:
sqrt(max(0, Σ r² − Σ y)) / ‖y − background‖ (Poisson: E Σ noise² = Σ y).
Exact GSAS-II profiles come from GSAS-II itself (the GSAS-II engine).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from xtal.crystal.cell import Cell
from xtal.crystal.phase import Phase, Site
from xtal.crystal.spacegroup import SpaceGroup
from xtal.diffraction.background import Halo, chebyshev_basis
from xtal.diffraction.simulate import PhasePattern, PhaseTerms
from xtal.io.instprm import read_instrument

GROUPS = {"Na3BS3 trigonal P3": "P 3", "Na2S Fm-3m": "F m -3 m"}


@pytest.fixture(scope="module")
def synthetic(shared):
    root = shared / "synthetic/na3bs3_ht200_gsas2"
    truth = json.loads((root / "truth.json").read_text())
    data = np.loadtxt(root / "pattern.xy")
    inst = read_instrument(root / "instrument.instprm").replace(
        zero=truth["instrument"]["zero_deg"]
    )
    phases = []
    for ph in truth["phases"]:
        c = ph["cell"]
        sites = [
            Site(
                s["label"], s["element"], tuple(s["xyz"]), s["occupancy"], 8 * np.pi**2 * s["Uiso"]
            )
            for s in ph["sites"]
        ]
        phases.append(
            Phase(
                ph["name"].split()[0],
                Cell(c["a"], c["b"], c["c"], c["alpha"], c["beta"], c["gamma"]),
                SpaceGroup.from_symbol(GROUPS[ph["name"]]),
                sites,
            )
        )
    return truth, data[:, 0], data[:, 1], inst, phases


def _fit_scales(synthetic, fcj, sh_l=None):
    """Weighted fit of the two phase scales: (Rwp, Rexp, weight fractions, misfit, x, resid)."""
    truth, x, y, inst, phases = synthetic
    if sh_l is not None:
        inst = inst.replace(sh_l=sh_l)
    bg = truth["background"]
    cheb = chebyshev_basis(x, 3, 10.0, 80.0) @ np.asarray(bg["chebyshev_first_kind_coefficients"])
    h = bg["amorphous_halo"]
    halo = Halo.from_gsas2(
        h["centre_deg"],
        h["gsas2_integrated_intensity"],
        h["gsas2_sigma2_centideg2"],
        h["gsas2_gamma_centideg"],
    ).evaluate(x)
    cols = np.column_stack(
        [PhasePattern(p, inst, 80.0).render(x, inst, PhaseTerms(), fcj=fcj) for p in phases]
    )
    w = 1.0 / np.maximum(y, 1.0)
    scales, *_ = np.linalg.lstsq(
        cols * np.sqrt(w)[:, None], (y - cheb - halo) * np.sqrt(w), rcond=None
    )
    calc = cols @ scales + cheb + halo
    rwp = np.sqrt(np.sum(w * (y - calc) ** 2) / np.sum(w * y * y))
    rexp = np.sqrt((y.size - 2) / np.sum(w * y * y))
    zmv = np.array([p.zmv for p in phases])
    return rwp, rexp, scales * zmv / np.sum(scales * zmv), cols, y - cheb - halo


def _misfit(cols, net, y, sel=slice(None)):
    """Noise-corrected scale-free misfit of the Bragg part (module doc)."""
    s, *_ = np.linalg.lstsq(cols[sel], net[sel], rcond=None)
    r = net[sel] - cols[sel] @ s
    return np.sqrt(max(0.0, np.sum(r * r) - np.sum(y[sel]))) / np.linalg.norm(net[sel])


@pytest.mark.parametrize("fcj", ["fast", "exact"])
def test_pattern_matches_gsas2_but_for_its_fcj_quadrature(synthetic, fcj):
    truth, x, y = synthetic[0], synthetic[1], synthetic[2]
    rwp, rexp, wf, cols, net = _fit_scales(synthetic, fcj)
    # Hill–Howard weight fractions: GSAS-II's to 0.001 (the FCJ difference moves them 2e-4)
    for frac, ph in zip(wf, truth["phases"], strict=True):
        assert frac == pytest.approx(ph["weight_fraction"], abs=0.001)
    # the stated misfit: 0.085 (physics.md, measured independently: 0.084)
    misfit = _misfit(cols, net, y)
    assert 0.075 < misfit < 0.095, misfit
    assert 1.1 < rwp / rexp < 1.3
    # the difference is axial divergence: largest at low angle, where FCJ matters most
    low, high = _misfit(cols, net, y, x < 40), _misfit(cols, net, y, x >= 60)
    assert low > 2 * high, (low, high)


def test_fcj_moves_the_pattern_towards_gsas2s(synthetic):
    """Without asymmetry the misfit is far larger: the FCJ rule is doing GSAS-II's job."""
    y = synthetic[2]
    _, _, _, cols, net = _fit_scales(synthetic, "fast", sh_l=0.0)
    assert _misfit(cols, net, y) > 0.12


def test_fast_rule_draws_the_pattern_as_the_exact_one(synthetic):
    """Stated accuracy of "fast" (1e-3 of each peak's height) on the whole noiseless pattern."""
    fast = _fit_scales(synthetic, "fast")[3]
    exact = _fit_scales(synthetic, "exact")[3]
    assert np.all(np.abs(fast - exact).max(axis=0) < 1e-3 * exact.max(axis=0))
