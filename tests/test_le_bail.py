"""Le Bail fits: cells from the pattern alone (Le Bail, Duroy & Fourquet 1988).

References: the Rietveld refinement of the same data with the same recipe (the cell
depends on peak positions only, so both must agree within 2 combined esd), and the
truth of the GSAS-II-computed glass–ceramic.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from conftest import EXAMPLE_RECIPE

from xtal.app.refine import cell_only_phase, refine
from xtal.errors import InputError
from xtal.io.cif import read_cif
from xtal.io.instprm import read_instrument
from xtal.refine.recipe import load_recipe


def _agree(rietveld, le_bail, keys) -> None:
    for k in keys:
        a, b = rietveld.cell[k], le_bail.cell[k]
        assert abs(a.value - b.value) <= 2 * np.hypot(a.esd, b.esd), (k, a, b)


def test_pbso4_le_bail_cell_matches_the_rietveld_cell(shared):
    d = shared / "real/pbso4_cpd_xray"
    inst = read_instrument(d / "INST_XRY.PRM").replace(sh_l=0.002)
    args = (d / "PBSO4.XRA",)
    kw = {"two_theta_range": (16.0, 158.4)}
    # both converged to 1e-4 in χ²: at GSAS-II's 1e-3 a cell may still move by ~1 esd
    std = load_recipe("standard")
    tight = replace(std, stages=tuple(replace(st, tolerance=1e-4, cycles=40)
                                      for st in std.stages))
    rv = refine(*args, [d / "PbSO4-Wyckoff.cif"], inst, tight, **kw)
    lb = refine(*args, [], inst, tight, le_bail=[d / "PbSO4-Wyckoff.cif"], **kw)
    (name,) = lb.phases
    _agree(rv.phases[name], lb.phases[name], "abc")
    # a Le Bail fit has every intensity free: it fits at least as well as the structure
    assert lb.rwp <= rv.rwp
    refl = lb.phases[name].reflections
    assert len(refl["hkl"]) > 200 and all(v >= 0 for v in refl["i_obs"])
    # the extracted intensities are the observed ones of the Rietveld partition: for a
    # reflection with no neighbour within 0.3° (where the split among overlapping ones is
    # arbitrary) the strongest agree to a few per cent
    tth = np.array(refl["two_theta"])
    gap = np.array([np.sort(np.abs(tth - t))[1] for t in tth])
    alone = np.nonzero(gap > 0.3)[0]
    strong = alone[np.argsort(np.array(refl["i_obs"])[alone])[-5:]]
    rv_table = {tuple(h): i for h, i in zip(rv.phases[name].reflections["hkl"],
                                             rv.phases[name].reflections["i_obs"], strict=True)}
    assert len(strong) == 5
    for k in strong:
        ref = rv_table[tuple(refl["hkl"][k])]
        assert refl["i_obs"][k] == pytest.approx(ref, rel=0.05)
    assert np.isnan(lb.phases[name].weight_fraction.value)  # no structure, no QPA


def test_lab6_le_bail_cell_matches_the_rietveld_cell(shared):
    phase = read_cif("tests/data/LaB6_Pm-3m.cif")
    start = phase.with_cell(phase.cell.replace(a=4.15, b=4.15, c=4.15))
    data = shared / "real/lab6_nist660/LaB6_Jan2018.raw"
    rv = refine(data, [start], None, "standard")
    lb = refine(data, [], None, "standard", le_bail=[start])
    _agree(rv.phases["LaB6"], lb.phases["LaB6"], "a")


def test_glass_ceramic_cell_from_the_pattern_with_na2s_and_the_halo(shared):
    """The trigonal phase given only by Table 1's cell and P3; Na2S by Rietveld; the glass
    halo refined too.  Against the Rietveld refinement of the same data: within 2
    combined esd.  Against the truth: within 1e-3 Å, the bias GSAS-II's own FCJ quadrature
    (with which it computed the pattern) leaves in xtal's cells (test_refine_validation)."""
    root = shared / "synthetic/na3bs3_ht200_gsas2"
    truth = json.loads((root / "truth.json").read_text())
    args = (root / "pattern.xy",)
    inst = root / "instrument.instprm"
    res = refine(*args, ["Na2S"], inst, EXAMPLE_RECIPE,
                 le_bail=["3.901,3.901,7.422,90,90,120:P 3"])
    rv = refine(*args, ["Na3BS3-trigonal", "Na2S"], inst, EXAMPLE_RECIPE)
    tri = res.phases["lebail_P3"]
    _agree(rv.phases["Na3BS3-trigonal"], tri, ("a", "c"))
    true_cell = next(p["cell"] for p in truth["phases"] if "P3" in p["name"])
    for k in ("a", "c"):
        assert abs(tri.cell[k].value - true_cell[k]) < 1e-3, (k, tri.cell[k])
    _agree(rv.phases["Na2S"], res.phases["Na2S"], ("a",))
    assert res.value("background.halo.0.area").value > 0
    assert 0.95 < res.gof < 1.15


@pytest.mark.parametrize(
    "text", ["3.9,3.9,7.4,90,90:P 3", "3.9,x,7.4,90,90,120:P 3", "3.9,3.9,7.4,90,90,120:Q 9"]
)
def test_bad_cell_specification_is_one_line(text):
    with pytest.raises(InputError) as exc:
        cell_only_phase(text)
    assert "\n" not in str(exc.value)


def test_a_le_bail_result_exports_its_structures_and_refuses_a_cif_of_none(shared, tmp_path):
    from cli_helpers import run_xtal

    root = shared / "synthetic/na3bs3_ht200_gsas2"
    proc = run_xtal(tmp_path, "refine", str(root / "pattern.xy"), "--phase", "Na2S",
                    "--le-bail", "3.901,3.901,7.422,90,90,120:P 3", "--instrument",
                    str(root / "instrument.instprm"), "--recipe", EXAMPLE_RECIPE, "--out", "out")
    assert proc.returncode == 0, proc.stderr
    ok = run_xtal(tmp_path, "export", "out", "--cif", "na2s.cif")
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "na2s.cif").read_text().count("Na2S") > 0  # the Rietveld phase only
    bad = run_xtal(tmp_path, "export", "out", "--cif", "lb.cif", "--phase", "lebail_P3")
    assert bad.returncode == 2 and "Le Bail" in bad.stderr and "Traceback" not in bad.stderr
