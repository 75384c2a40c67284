"""Refinements of real and synthetic data against published or known results.

References (all independent of xtal):
* PbSO4: the IUCr CPD round robin pattern, compared with GSAS-II's refined values
  (tutorial "Combined X-ray/neutron refinement – PbSO4"; ../shared/data/README.md).
* LaB6: NIST SRM 660-series line-position standard, a = 4.1569 Å.
* RbNb2O5F: the authors' FullProf refinement (Zakary et al., Inorg. Chem. 64, 5764,
  2025; RbNb2O5F.sum), refined the way they did: their wavelengths, monochromator
  polarisation (Cthm 0.91) and fixed background points, zero point refined and no
  sample displacement, Bérar–Baldinozzi asymmetry.
* The synthetic glass–ceramic computed by GSAS-II, against its truth.json.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from xtal.diffraction.instrument import Instrument
from xtal.io.patterns import read_pattern
from xtal.refine.api import refine
from xtal.refine.recipe import load_recipe, parse_recipe

GSAS2_PBSO4 = {  # GSAS-II reference, ../shared/data/README.md
    "cell": {"a": 8.480297, "b": 5.398574, "c": 6.960012},
    "Pb": (0.18754, 0.25, 0.16717),
    "S": (0.06491, 0.25, 0.68347),
    "O1": (-0.09302, 0.25, 0.59541),
    "O2": (0.19366, 0.25, 0.54264),
    "O3": (0.08086, 0.02693, 0.80927),
}


@pytest.fixture(scope="module")
def pbso4(shared):
    d = shared / "real/pbso4_cpd_xray"
    return refine(
        d / "PBSO4.XRA",
        [d / "PbSO4-Wyckoff.cif"],
        d / "INST_XRY.PRM",
        "standard",
        two_theta_range=(16.0, 158.4),
    )


def test_pbso4_round_robin_matches_gsas2(pbso4):
    assert pbso4.stopped is None
    assert pbso4.rwp <= 0.105
    ph = next(iter(pbso4.phases.values()))
    for k, ref in GSAS2_PBSO4["cell"].items():
        assert abs(ph.cell[k].value - ref) < 0.002, k
    for label in ("Pb", "S", "O1", "O2", "O3"):
        tol = 0.001 if label == "Pb" else 0.01
        for axis, ref in zip("xyz", GSAS2_PBSO4[label], strict=True):
            if label == "Pb" and axis == "y":
                continue
            assert abs(ph.sites[label][axis].value - ref) < tol, (label, axis)


def test_pbso4_statistics_are_consistent(pbso4):
    """R factors recomputed from the curves; GOF² = χ²_ν; esds present for refined values."""
    c = pbso4.curves
    w = 1 / c.sigma**2
    rwp = np.sqrt(np.sum(w * (c.observed - c.calculated) ** 2) / np.sum(w * c.observed**2))
    assert pbso4.rwp == pytest.approx(rwp, rel=1e-9)
    assert pbso4.gof**2 == pytest.approx(pbso4.chi2, rel=1e-9)
    ph = next(iter(pbso4.phases.values()))
    assert ph.cell["a"].esd and ph.cell["a"].esd < 1e-3
    assert ph.cell["alpha"].esd in (None, 0.0)  # fixed by the orthorhombic metric
    assert ph.sites["Pb"]["y"].esd in (None, 0.0)  # on the mirror plane


def test_lab6_lattice_parameter(shared):
    rec = load_recipe("standard")
    stages = list(rec.stages)
    stages[1] = replace(stages[1], refine=("phases.*.cell.*", "instrument.zero"))
    # a line-position standard is what calibrates the axial divergence: refine SH/L too
    stages[2] = replace(stages[2], refine=stages[2].refine + ("instrument.sh_l",))
    res = refine(
        shared / "real/lab6_nist660/LaB6_Jan2018.raw",
        ["tests/data/LaB6_Pm-3m.cif"],
        None,
        replace(rec, stages=tuple(stages)),
    )
    assert res.stopped is None
    assert abs(res.phases["LaB6"].cell["a"].value - 4.1569) < 0.0010


def test_rbnb2o5f_as_the_authors_refined_it(shared):
    d = shared / "real/rbnb2o5f_empyrean"
    # the authors' FullProf .pcr: λ 1.540560/1.544390, ratio 0.5, Cthm 0.91, 5.0985–119.9884°
    inst = Instrument(
        lam1=1.540560, lam2=1.544390, ratio=0.5, polarization=1 / (1 + 0.91), sh_l=0.0
    )
    profile = [
        "instrument.U",
        "instrument.V",
        "instrument.W",
        "instrument.X",
        "instrument.Y",
        "instrument.asy1",
        "instrument.asy2",
        "instrument.asy3",
        "instrument.asy4",
    ]
    recipe = parse_recipe(
        {
            "background": {"chebyshev": 1},
            # as in their .pcr: Nb and Rb share one B (O and F share theirs as a mixed site)
            "constraints": ["phases.RbNb2O5F.sites.Nb1.biso = phases.RbNb2O5F.sites.Rb1.biso"],
            "stage": [
                {"name": "scale", "refine": ["phases.*.scale", "background.chebyshev.*"]},
                {"name": "cell and zero", "refine": ["phases.*.cell.*", "instrument.zero"]},
                {"name": "profile", "refine": profile, "cycles": 20},
                {
                    "name": "atoms",
                    "refine": ["phases.*.sites.*.x", "phases.*.sites.*.biso"],
                    "cycles": 15,
                    "tolerance": 1e-5,
                },
            ],
        }
    )
    res = refine(
        read_pattern(d / "RbNb2O5F.xrdml")[0],
        [d / "RbNb2O5F.cif"],
        inst,
        recipe,
        two_theta_range=(5.0985, 119.9884),
        background_points=d / "RbNb2O5F.BGR",
    )
    assert res.stopped is None
    ph = res.phases["RbNb2O5F"]
    assert abs(ph.cell["a"].value - 10.49561) < 0.0005
    assert abs(ph.sites["Rb1"]["x"].value - 0.39599) < 0.002
    # the mixed O/F site stays one site
    assert ph.sites["O1"]["x"].value == pytest.approx(ph.sites["F1"]["x"].value, abs=1e-12)


def test_synthetic_glass_ceramic_recovers_gsas2_truth(shared):
    root = shared / "synthetic/na3bs3_ht200_gsas2"
    truth = json.loads((root / "truth.json").read_text())
    res = refine(
        root / "pattern.xy", ["Na3BS3-trigonal", "Na2S"], root / "instrument.instprm", "na3bs3"
    )
    assert res.stopped is None
    names = {"Na3BS3 trigonal P3": "Na3BS3-trigonal", "Na2S Fm-3m": "Na2S"}
    for ph in truth["phases"]:
        got = res.phases[names[ph["name"]]]
        for k in ("a", "b", "c"):
            assert abs(got.cell[k].value - ph["cell"][k]) < 0.001, (ph["name"], k)
    assert abs(res.phases["Na2S"].weight_fraction.value - 0.0739) < 0.01
    # xtal's converged FCJ integral places low-angle peaks up to ≈ 0.008° from GSAS-II's
    # quadrature at SH/L 0.02 (README, Conventions); the refined zero absorbs most of it
    # (measured 0.0081(2) against 0.015)
    assert abs(res.value("instrument.zero").value - truth["instrument"]["zero_deg"]) < 0.01
    # a correct model fits GSAS-II's Poisson-noise pattern to the noise
    assert res.gof < 1.05
