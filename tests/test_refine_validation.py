"""Refinements of real and synthetic data against published or known results.

Every refinement starts from a model that does not contain the answer, assertions are
made only on refined parameters, and each tolerance is argued from the reference's
esd: ≤ 3 combined esd (sqrt(esd_ref² + esd_xtal²)) unless the test says why more.

References (all independent of xtal):

* PbSO4: the IUCr CPD round-robin pattern; GSAS-II's tutorial refinement
  (../shared/data/README.md).  Refined like for like: GSAS-II ignores the S/L, H/L of
  the GSAS ``.prm`` and uses SH/L = 0.002, and assumes a 200 mm goniometer radius.
* LaB6: NIST SRM 660-series line-position standard (lot not stated).
* RbNb2O5F: the authors' FullProf refinement (Zakary et al., Inorg. Chem. 64, 5764,
  2025; RbNb2O5F.sum), refined the way they did: their wavelengths, monochromator
  polarisation (Cthm 0.91) and fixed background points, zero point refined, no
  sample displacement, Bérar–Baldinozzi asymmetry.
* The synthetic glass–ceramic computed by GSAS-II, against its truth.json.

The shared data are required: a missing ``../shared/data`` fails these tests (the
``shared`` fixture), it does not skip them.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from conftest import EXAMPLE_RECIPE

from xtal.app.refine import refine
from xtal.diffraction.instrument import Instrument
from xtal.io.cif import read_cif
from xtal.io.instprm import read_instrument
from xtal.io.library import load_phase
from xtal.io.patterns import read_pattern
from xtal.refine.recipe import load_recipe, parse_recipe

# GSAS-II tutorial "Combined X-ray/neutron refinement – PbSO4", X-ray histogram (value, esd)
PBSO4_CELL = {"a": (8.480297, 9.7e-5), "b": (5.398574, 6.2e-5), "c": (6.960012, 8.1e-5)}
PBSO4_PB = {"x": (0.18754, 8e-5), "z": (0.16717, 1.2e-4)}
PBSO4_LIGHT = {  # S and O: x, z (and O3 y)
    ("S", "x"): 0.06491, ("S", "z"): 0.68347, ("O1", "x"): -0.09302, ("O1", "z"): 0.59541,
    ("O2", "x"): 0.19366, ("O2", "z"): 0.54264, ("O3", "x"): 0.08086, ("O3", "y"): 0.02693,
    ("O3", "z"): 0.80927,
}


def combined(esd_ref: float, esd: float | None) -> float:
    assert esd is not None and esd > 0
    return float(np.hypot(esd_ref, esd))


def stages_continue(res) -> None:
    """χ² at each stage's start is the previous stage's end (within 0.1 %): the model that
    is optimised is the model that is reported."""
    for prev, nxt in zip(res.stages, res.stages[1:], strict=False):
        assert nxt["chi2_start"] == pytest.approx(prev["chi2"], rel=1e-3), (prev, nxt)


@pytest.fixture(scope="module")
def pbso4_inputs(shared):
    d = shared / "real/pbso4_cpd_xray"
    inst = read_instrument(d / "INST_XRY.PRM").replace(sh_l=0.002)  # GSAS-II's SH/L
    return d / "PBSO4.XRA", [read_cif(d / "PbSO4-Wyckoff.cif")], inst


@pytest.fixture(scope="module")
def pbso4(pbso4_inputs):
    return refine(*pbso4_inputs, "standard", two_theta_range=(16.0, 158.4))


def test_pbso4_start_does_not_contain_the_answer(pbso4_inputs):
    start = pbso4_inputs[1][0]
    assert abs(start.cell.c - PBSO4_CELL["c"][0]) > 20 * PBSO4_CELL["c"][1]
    assert abs(start.site("O1").xyz[2] - PBSO4_LIGHT[("O1", "z")]) > 0.004


def test_pbso4_cell_and_lead_match_gsas2(pbso4):
    assert pbso4.stopped is None
    ph = next(iter(pbso4.phases.values()))
    for k, (ref, e) in PBSO4_CELL.items():
        v = ph.cell[k]
        assert abs(v.value - ref) <= 3 * combined(e, v.esd), (k, v, ref)
    for axis, (ref, e) in PBSO4_PB.items():
        v = ph.sites["Pb"][axis]
        assert abs(v.value - ref) <= 3 * combined(e, v.esd), ("Pb", axis, v, ref)
    # GSAS-II: sample shift 76.9(6) µm on the same 200 mm radius
    disp = pbso4.value("instrument.displacement")
    assert abs(disp.value - 76.9) <= 3 * combined(0.6, disp.esd), disp


def test_pbso4_light_atoms_within_the_xray_resolution(pbso4):
    """S and O: the reference positions are those of a joint X-ray + neutron refinement, in
    which the neutron data (O scatters ⅓ as strongly as Pb there, 1/10 here) fix them; an
    X-ray-only fit moves them by up to 0.009 (about 7 of its own esds, which do not include
    the systematic errors of X-ray-only light-atom positions).  The bound, 0.012, is a third
    of an O–O distance's worth of 1 % and fails for a wrong structure (the Wyckoff start is
    0.005–0.007 off and a mis-assigned atom is ≳ 0.05 off)."""
    ph = next(iter(pbso4.phases.values()))
    for (label, axis), ref in PBSO4_LIGHT.items():
        assert abs(ph.sites[label][axis].value - ref) < 0.012, (label, axis)


def test_pbso4_agreement_indices(pbso4):
    """GSAS-II, refining this X-ray pattern like for like, reaches Rwp 9.95 % (measured for
    the issue that asked for this check); its joint X/N fit gives the X-ray histogram wR
    11.00 %.  A fit of the same model must land near the first and below the second."""
    assert abs(100 * pbso4.rwp - 9.95) < 0.5
    assert 100 * pbso4.rwp < 11.0
    assert 1.5 < pbso4.gof < 2.5  # lab data with counting statistics: GOF ≈ 2 in both programs
    stages_continue(pbso4)


def test_one_more_cycle_from_a_converged_result_changes_nothing(pbso4, pbso4_inputs):
    again = refine(
        *pbso4_inputs,
        "standard",
        two_theta_range=(16.0, 158.4),
        start=pbso4,
    )
    assert again.stages[-1]["chi2"] >= pbso4.stages[-1]["chi2"] * (1 - 1e-3)


LAB6_660B, LAB6_660C = 4.15689, 4.156826  # Å at 22.5 °C (certificates)


def test_lab6_lattice_parameter_from_a_wrong_start(shared):
    """From a = 4.15 Å.  The lot is not stated, so the reference is the mean of the 660b
    and 660c values with half their difference (3.2e-5 Å) as its uncertainty; the
    measuring temperature is not stated either: ±3 K around 22.5 °C at α = 6.4e-6 /K
    (NIST certificate) adds 8e-5 Å.  A line-position standard calibrates the axial
    divergence, so SH/L is refined too."""
    phase = read_cif("tests/data/LaB6_Pm-3m.cif")
    start = phase.with_cell(phase.cell.replace(a=4.15, b=4.15, c=4.15))
    rec = load_recipe("standard")
    stages = list(rec.stages)
    stages[2] = replace(stages[2], refine=stages[2].refine + ("instrument.sh_l",))
    res = refine(
        shared / "real/lab6_nist660/LaB6_Jan2018.raw",
        [start],
        None,
        replace(rec, stages=tuple(stages)),
    )
    assert res.stopped is None
    a = res.phases["LaB6"].cell["a"]
    ref = 0.5 * (LAB6_660B + LAB6_660C)
    allowed = 3 * np.sqrt(a.esd**2 + 3.2e-5**2 + 8e-5**2)
    assert abs(a.value - ref) <= allowed, (a, ref, allowed)
    stages_continue(res)


@pytest.fixture(scope="module")
def rbnb2o5f(shared):
    d = shared / "real/rbnb2o5f_empyrean"
    phase = read_cif(d / "RbNb2O5F.cif")

    def rounded(site):
        # the refinable coordinates rounded to 0.01; special-position values kept
        if site.label == "Rb1":  # 32e (x, x, x)
            return replace(site, xyz=(0.40, 0.40, 0.40), b_iso=1.0)
        if site.label in ("O1", "F1"):  # 48f (x, 1/8, 1/8)
            return replace(site, xyz=(0.32, *site.xyz[1:]), b_iso=1.0)
        return replace(site, b_iso=1.0)

    start = phase.with_cell(phase.cell.replace(a=10.50, b=10.50, c=10.50))
    start = start.with_sites([rounded(s) for s in phase.sites])
    # the authors' FullProf .pcr: λ 1.540560/1.544390, ratio 0.5, Cthm 0.91, 5.0985–119.9884°
    inst = Instrument(
        lam1=1.540560, lam2=1.544390, ratio=0.5, polarization=1 / (1 + 0.91), sh_l=0.0
    )
    profile = ["instrument." + k for k in ("U", "V", "W", "X", "Y", "asy1", "asy2", "asy3",
                                           "asy4")]
    recipe = parse_recipe(
        {
            "background": {"chebyshev": 1},
            # as in their .pcr: Nb and Rb share one B (O and F share theirs as a mixed site)
            "constraints": ["phases.RbNb2O5F.sites.Nb1.biso = phases.RbNb2O5F.sites.Rb1.biso"],
            "stage": [
                {"name": "scale", "refine": ["phases.*.scale", "background.chebyshev.*"]},
                {"name": "cell and zero", "refine": ["phases.*.cell.*", "instrument.zero"],
                 "cycles": 20},
                {"name": "profile", "refine": profile, "cycles": 20},
                {"name": "atoms", "refine": ["phases.*.sites.*.x", "phases.*.sites.*.biso"],
                 "cycles": 20},
            ],
        }
    )
    return refine(
        read_pattern(d / "RbNb2O5F.xrdml")[0],
        [start],
        inst,
        recipe,
        two_theta_range=(5.0985, 119.9884),
        background_points=d / "RbNb2O5F.BGR",
    )


def test_rbnb2o5f_cell_and_zero_match_fullprof(rbnb2o5f):
    """FullProf: a = 10.49561(6) Å, zero −0.0438(4)°.  FullProf's peak shape here is a
    pseudo-Voigt with one refined mixing η and Bérar–Baldinozzi asymmetry; xtal's is TCH
    (η from the Gaussian and Lorentzian widths).  The different shapes move the fitted peak
    centres slightly, by ~3 combined esd in a: allowed 4, the cell's esd being 6e-5 Å."""
    assert rbnb2o5f.stopped is None
    a = rbnb2o5f.phases["RbNb2O5F"].cell["a"]
    assert abs(a.value - 10.49561) <= 4 * combined(6e-5, a.esd), a
    zero = rbnb2o5f.value("instrument.zero")
    assert abs(zero.value + 0.0438) <= 3 * combined(4e-4, zero.esd), zero


def test_rbnb2o5f_atoms_and_agreement(rbnb2o5f):
    """FullProf: Rb x = 0.39599(9), O/F x = 0.31938(17); Rwp 2.74 %, χ² 10.4, R_Bragg 4.32 %.

    The profile model differs (previous test), so the fit is worse (Rwp 3.1 %, R_Bragg
    6.8 %) and intensity-driven parameters differ by more than their esds: Rb x by 0.0012
    (≈ 9 esd), O x by 0.0011.  Bounds: 0.002 in x (0.02 Å, a tenth of the start's error
    being 0.004–0.007 would not pass), Rwp within 0.6 percentage points, R_Bragg below
    twice FullProf's; the mixed O/F site stays one site."""
    ph = rbnb2o5f.phases["RbNb2O5F"]
    assert abs(ph.sites["Rb1"]["x"].value - 0.39599) < 0.002
    assert abs(ph.sites["O1"]["x"].value - 0.31938) < 0.002
    assert ph.sites["O1"]["x"].value == pytest.approx(ph.sites["F1"]["x"].value, abs=1e-12)
    assert abs(100 * rbnb2o5f.rwp - 2.74) < 0.6
    assert 100 * ph.r_bragg < 2 * 4.32
    stages_continue(rbnb2o5f)


def test_synthetic_glass_ceramic_recovers_gsas2_truth(shared):
    """From Table 1 (a = 3.901, c = 7.422 Å; the truth is 3.9034, 7.4187) and Na2S at
    6.537 Å (truth 6.54), with the zero this example's instrument file leaves uncalibrated.
    The truth is exact, so every refined value must lie within 3 of its own esds."""
    root = shared / "synthetic/na3bs3_ht200_gsas2"
    truth = json.loads((root / "truth.json").read_text())
    res = refine(
        root / "pattern.xy",
        ["Na3BS3-trigonal", "Na2S"],
        root / "instrument.instprm",
        EXAMPLE_RECIPE,
    )
    assert res.stopped is None
    names = {"Na3BS3 trigonal P3": "Na3BS3-trigonal", "Na2S Fm-3m": "Na2S"}
    for ph in truth["phases"]:
        got = res.phases[names[ph["name"]]]
        for k in ("a", "c"):
            v = got.cell[k]
            assert abs(v.value - ph["cell"][k]) <= 3 * v.esd, (ph["name"], k, v)
        wf = got.weight_fraction
        assert abs(wf.value - ph["weight_fraction"]) <= 3 * wf.esd, (ph["name"], wf)
    zero = res.value("instrument.zero")
    assert abs(zero.value - truth["instrument"]["zero_deg"]) <= 3 * zero.esd
    # a correct model fits GSAS-II's Poisson-noise pattern to the noise
    assert 0.95 < res.gof < 1.05
    stages_continue(res)


def _displaced_glass_ceramic():
    """Trigonal Na3BS3 + Na2S + glass halo drawn by xtal with a 45 µm sample displacement
    on a calibrated instrument (zero 0), Poisson noise."""
    from xtal.diffraction.background import Background, Halo
    from xtal.diffraction.simulate import simulate

    tri = load_phase("Na3BS3-trigonal")
    tri = tri.with_cell(tri.cell.replace(a=3.9034, b=3.9034, c=7.4187))
    na2s = load_phase("Na2S")
    na2s = na2s.with_cell(na2s.cell.replace(a=6.540, b=6.540, c=6.540))
    inst = Instrument(U=2.0, V=-2.0, W=5.0, X=1.5, Y=3.0, sh_l=0.02, displacement=45.0)
    bg = Background(chebyshev=(200.0, -60.0, 20.0), halos=(Halo(30.0, 15000.0, 11.8),))
    sim = simulate([tri, na2s], inst, (10.0, 80.0, 0.01), weights=[0.93, 0.07], background=bg,
                   fcj="exact", peak_height=20000.0)
    rng = np.random.default_rng(11)
    from xtal.diffraction.pattern import Pattern

    return Pattern(sim.x, rng.poisson(sim.y).astype(float), name="displaced"), inst, (tri, na2s)


def test_displacement_not_zero_on_a_bragg_brentano_pattern():
    """The convention of issue 7: on a calibrated Bragg–Brentano instrument the sample
    displacement is what moves.  The na3bs3 recipe refines it and recovers the cells
    within 3 esd from Table 1; refining the zero instead (na3bs3 with the zero substituted)
    leaves the cells many esd off."""
    pattern, true_inst, (tri, na2s) = _displaced_glass_ceramic()
    calibrated = true_inst.replace(displacement=0.0)
    res = refine(pattern, ["Na3BS3-trigonal", "Na2S"], calibrated, "na3bs3", fcj="exact")
    assert res.stopped is None
    for name, truth in (("Na3BS3-trigonal", tri), ("Na2S", na2s)):
        for k in ("a", "c"):
            v = res.phases[name].cell[k]
            assert abs(v.value - getattr(truth.cell, k)) <= 3 * v.esd, (name, k, v)
    disp = res.value("instrument.displacement")
    assert abs(disp.value - 45.0) <= 3 * disp.esd
    base = load_recipe("na3bs3")
    zero = replace(
        base,
        stages=tuple(
            replace(s, refine=tuple("instrument.zero" if r == "instrument.displacement" else r
                                    for r in s.refine))
            for s in base.stages
        ),
    )
    wrong = refine(pattern, ["Na3BS3-trigonal", "Na2S"], calibrated, zero, fcj="exact")
    off = max(
        abs(wrong.phases["Na3BS3-trigonal"].cell[k].value - getattr(tri.cell, k))
        / wrong.phases["Na3BS3-trigonal"].cell[k].esd
        for k in ("a", "c")
    )
    assert off > 5
