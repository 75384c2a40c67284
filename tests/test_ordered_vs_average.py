"""Ordered Na3BS3 candidates against the data: written by ``xtal order --out``, refined by
``xtal refine`` with the ``na3bs3_ordered`` recipe, put beside the average model by
``xtal compare`` (Hamilton's R-ratio test, reflections only the ordered cell has).

Two patterns whose truth is known:

* the bundled example, computed by GSAS-II from the *average* trigonal structure (B
  disordered over 1a/1b): the test must not prefer an ordered model, and the data hold
  nothing at the superstructure positions;
* a pattern simulated here from an *ordered* candidate (the Cmc2_1 √3×√3 ordering, its
  cell, displacement parameters and B–S bonds changed from what ``xtal order`` writes,
  so that the refinement starts from a model that does not contain the answer), with
  Poisson noise: the ordered model must win, and the average fit must leave the
  superstructure reflections in its residual.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_xtal

import xtal
import xtal.cli as cli
from xtal.analysis.ordering import ordered_variants
from xtal.app.compare import compare
from xtal.crystal.cell import Cell
from xtal.diffraction.background import Background, Halo
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.io.cif import read_cif
from xtal.refine.result import Result

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "refinements/examples/na3bs3_ht200_gsas2"
TABLE1 = ROOT.parent / "shared/data/structures/Na3BS3_trigonal_P3_table1.cif"


@pytest.fixture(scope="module")
def candidates(tmp_path_factory) -> dict[str, Path]:
    """``xtal order TABLE1 --out DIR``: space group symbol → written CIF."""
    out = tmp_path_factory.mktemp("order") / "candidates"
    cli.main(["order", str(TABLE1), "--max-cells", "3", "--out", str(out), "--json"])
    rows = json.loads((out / "candidates.json").read_text())
    return {r["space_group"]: Path(r["cif"]) for r in rows}


# -- the bundled example: the average structure ------------------------------------------------
@pytest.fixture(scope="module")
def example_fits(candidates, tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("example")
    avg = xtal.refine(EXAMPLE / "pattern.xy", ["Na3BS3-trigonal", "Na2S"],
                      EXAMPLE / "instrument.instprm", EXAMPLE / "recipe.toml")
    (base / "average").mkdir()
    avg.save(base / "average" / "result.json")
    dirs = {"average": base / "average"}
    # the first candidate through the command line, as a user would
    cli.main(["refine", str(EXAMPLE / "pattern.xy"), "--phase", str(candidates["Cmc2_1"]),
              "--phase", "Na2S", "--instrument", str(EXAMPLE / "instrument.instprm"),
              "--recipe", str(EXAMPLE / "recipe_ordered.toml"), "--out", str(base / "cmc21")])
    dirs["cmc21"] = base / "cmc21"
    other = xtal.refine(EXAMPLE / "pattern.xy", [candidates["Cc"], "Na2S"],
                        EXAMPLE / "instrument.instprm", EXAMPLE / "recipe_ordered.toml")
    (base / "cc").mkdir()
    other.save(base / "cc" / "result.json")
    dirs["cc"] = base / "cc"
    return dirs


def test_refined_candidate_keeps_its_model_and_restraints(example_fits) -> None:
    res = Result.load(example_fits["cmc21"])
    (name,) = [n for n in res.phases if n != "Na2S"]
    phase = res.phases[name].phase
    assert phase.space_group.number == 36 and "derived model made by xtal" in phase.provenance
    assert res.stopped is None
    assert not any("matches no phase" in w for w in res.warnings)  # role and restraints found


def test_average_model_wins_on_the_example(example_fits) -> None:
    comp = compare([example_fits["average"], example_fits["cmc21"], example_fits["cc"]])
    fits = {f.name: f for f in comp.fits}
    avg = fits["average"]
    # the pattern was computed from the average structure with Poisson noise
    assert avg.gof == pytest.approx(1.0, abs=0.05)
    assert [t.general for t in comp.tests] == ["cmc21", "cc"]
    for t in comp.tests:
        assert t.restricted == "average" and t.b == fits[t.general].n_parameters - avg.n_parameters
        assert t.b > 0 and t.n_minus_m == avg.n_points - fits[t.general].n_parameters
        assert fits[t.general].rwp > avg.rwp  # the ordered models fit worse, not just no better
        assert not t.significant and t.preferred == "average"
    # ring distortion of each: none in the average model (symmetry), some in the ordered
    assert avg.rings["Na3BS3-trigonal"][0] == pytest.approx(0, abs=1e-8)
    for k in ("cmc21", "cc"):
        (ring,) = fits[k].rings.values()
        assert ring[0] > 1e-3
    # the superstructure reflections exist, and the data hold nothing there: the average
    # fit's residual over each is counting noise (|z| < 5 for ~100 peaks)
    for k in ("cmc21", "cc"):
        extra = [e for e in comp.extra if e.fit == k]
        assert extra and all(e.separation > e.fwhm for e in extra)
        assert max(abs(e.residual_sigma) for e in extra) < 5


# -- a pattern of an ordered structure ---------------------------------------------------------
@pytest.fixture(scope="module")
def ordered_pattern() -> tuple[Pattern, object]:
    """Cmc2_1 ordering of a slightly larger cell, B–S 1.84 Å, its own B values, + 7 wt% Na2S."""
    parent = read_cif(TABLE1)
    c = parent.cell
    parent = parent.with_cell(Cell(c.a * 1.0008, c.b * 1.0008, c.c * 0.9995, 90, 90, 120))
    (truth_v,) = [v for v in ordered_variants(parent, max_cells=3, bond=1.84)
                  if v.space_group == "Cmc2_1"]
    biso = {"Na": 1.8, "S": 1.3, "B": 1.0}
    truth = truth_v.model.with_sites([replace(s, b_iso=biso[s.element]) for s in
                                      truth_v.model.sites])
    na2s = xtal.load_phase("Na2S")
    na2s = na2s.with_cell(Cell(6.54, 6.54, 6.54, 90, 90, 90))
    bg = Background((200.0, -60.0, 20.0), (Halo(30.0, 15000.0, 11.8),))
    sim = xtal.simulate([truth, na2s], Instrument(), (10.0, 80.0, 0.02), weights=[0.93, 0.07],
                        background=bg)
    y = np.random.default_rng(7).poisson(sim.y).astype(float)
    return Pattern(sim.x, y, name="ordered synthetic"), truth


@pytest.fixture(scope="module")
def ordered_fits(ordered_pattern, candidates, tmp_path_factory) -> dict[str, Path]:
    pattern, _ = ordered_pattern
    base = tmp_path_factory.mktemp("ordered")
    runs = {
        "average": (["Na3BS3-trigonal", "Na2S"], "na3bs3"),
        "ordered": ([candidates["Cmc2_1"], "Na2S"], "na3bs3_ordered"),
    }
    out = {}
    for name, (phases, recipe) in runs.items():
        (base / name).mkdir()
        xtal.refine(pattern, phases, Instrument(), recipe).save(base / name / "result.json")
        out[name] = base / name
    return out


def test_ordered_model_wins_on_ordered_data(ordered_fits, ordered_pattern) -> None:
    _, truth = ordered_pattern
    comp = compare([ordered_fits["average"], ordered_fits["ordered"]])
    (t,) = comp.tests
    fits = {f.name: f for f in comp.fits}
    assert t.restricted == "average" and t.general == "ordered"
    assert t.significant and t.preferred == "ordered" and t.p_value < 1e-6
    # the right model fits to the noise; the average one does not
    assert fits["ordered"].gof < 1.1 < fits["average"].gof
    # the average fit leaves the strongest superstructure reflection in its residual
    top = max((e for e in comp.extra if e.fit == "ordered"), key=lambda e: e.i_calc)
    assert top.signal_to_noise > 10 and top.residual_sigma > 5
    # cell of the ordered fit: the truth's within 4 esd (esds ~1e-4 Å here; restraints and
    # the B sites' weak scattering add little bias to a cell fixed by peak positions)
    res = Result.load(ordered_fits["ordered"])
    (name,) = [n for n in res.phases if n != "Na2S"]
    for k in ("a", "b", "c"):
        v = res.phases[name].cell[k]
        assert abs(v.value - getattr(truth.cell, k)) < 4 * v.esd, (k, v, getattr(truth.cell, k))


def test_cli_compare_fits(ordered_fits, tmp_path: Path) -> None:
    r = run_xtal(tmp_path, "compare", str(ordered_fits["average"]), str(ordered_fits["ordered"]),
                 "--alpha", "0.01", "--out", "cmp")
    assert r.returncode == 0, r.stderr
    assert "Hamilton" in r.stdout and "ordered fits significantly better" in r.stdout
    out = tmp_path / "cmp"
    assert sorted(p.name for p in out.iterdir()) == ["compare.json", "compare.md", "fits.png",
                                                    "overlay.png"]
    data = json.loads((out / "compare.json").read_text())
    (h,) = data["hamilton"]
    assert h["alpha"] == 0.01 and h["preferred"] == "ordered" and h["significant"]
    assert data["extra_reflections"] and [f["name"] for f in data["fits"]] == ["average",
                                                                                "ordered"]
    md = (out / "compare.md").read_text()
    assert "R_{b,n−m,α}" in md and "Reflections only one fit has" in md
