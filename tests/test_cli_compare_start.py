"""``xtal compare`` on a one-phase result (refined phase beside its starting model), with
a measured pattern overlaid; ``xtal refine --start`` (warm start from a result).

The data: Na2S simulated with a = 6.545 Å (the shipped starting model has 6.537 Å) and
Poisson noise; the refined cell must lie near 6.545 Å and the starting model keep 6.537 Å,
read again from the file the refinement started from.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_xtal

import xtal
from xtal.app.compare import compare
from xtal.crystal.cell import Cell
from xtal.diffraction.background import Background
from xtal.diffraction.instrument import Instrument
from xtal.errors import InputError
from xtal.io.library import shipped_path
from xtal.refine.result import Result

A_TRUE = 6.545


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    na2s = xtal.load_phase("Na2S")
    truth = na2s.with_cell(Cell(A_TRUE, A_TRUE, A_TRUE, 90, 90, 90))
    sim = xtal.simulate(truth, Instrument(), (15.0, 80.0, 0.02), background=Background((100.0,)))
    y = np.random.default_rng(3).poisson(sim.y)
    path = tmp_path_factory.mktemp("data") / "na2s.xy"
    path.write_text("".join(f"{a:.4f} {b:d}\n" for a, b in zip(sim.x, y, strict=True)))
    return path


@pytest.fixture(scope="module")
def one_phase(data_file, tmp_path_factory) -> Path:
    """A refinement that started from a copy of the shipped Na2S CIF."""
    base = tmp_path_factory.mktemp("one")
    start = base / "Na2S_start.cif"
    shutil.copy(shipped_path("Na2S"), start)
    r = run_xtal(base, "refine", str(data_file), "--phase", str(start), "--out", "fit")
    assert r.returncode == 0, r.stderr
    return base / "fit"


def test_one_phase_result_beside_its_start(one_phase, data_file, tmp_path: Path) -> None:
    r = run_xtal(tmp_path, "compare", str(one_phase), "--data", str(data_file), "--out", "cmp")
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    (name,) = Result.load(one_phase).phases
    assert [p["name"] for p in data["phases"]] == [name, f"{name} (start)"]
    refined, start = data["phases"]
    assert start["cell"][0] == pytest.approx(6.537, abs=1e-9)  # the CIF it started from
    assert refined["cell"][0] == pytest.approx(A_TRUE, abs=5 * refined["cell_esd"][0] + 2e-4)
    assert data["measured"] == str(data_file)
    assert data["two_theta"] == pytest.approx([15.0, 80.0, 0.02])  # the data's range and step
    assert f"{name} (start)" in r.stdout  # full names although stdout is not a terminal
    assert (tmp_path / "cmp" / "overlay.png").read_bytes()[:4] == b"\x89PNG"
    # two numbers are a range; the step stays the data's
    r = run_xtal(tmp_path, "compare", str(one_phase), "--range", "20,60", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["two_theta"] == pytest.approx([20.0, 60.0, 0.02])


def test_one_phase_result_needs_its_start(one_phase, tmp_path: Path) -> None:
    # the API compares refined phases only unless asked
    with pytest.raises(InputError, match="at least two"):
        compare([one_phase])
    moved = tmp_path / "fit"
    shutil.copytree(one_phase, moved)
    result = Result.load(moved)
    (pr,) = result.phases.values()
    source = Path(pr.phase.source)
    hidden = source.with_suffix(".hidden")
    source.rename(hidden)
    try:
        r = run_xtal(tmp_path, "compare", str(moved))
    finally:
        hidden.rename(source)
    assert r.returncode == 2 and "starting model" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    comp = compare([moved, "Na2S"], starting_models=True)
    assert [s.name for s in comp.phases] == [pr.name, f"{pr.name} (start)", "Na2S"]


def test_refine_warm_start(one_phase, data_file, tmp_path: Path) -> None:
    cold = Result.load(one_phase)
    start_cif = one_phase.parent / "Na2S_start.cif"  # the same model: the same names
    r = run_xtal(tmp_path, "refine", str(data_file), "--phase", str(start_cif), "--start",
                 str(one_phase), "--out", "warm")
    assert r.returncode == 0, r.stderr
    warm = Result.load(tmp_path / "warm")
    assert not any("warm start" in w for w in warm.warnings)
    # the first stage begins where the cold refinement ended, not at the shipped model
    assert warm.stages[0]["chi2_start"] < 0.05 * cold.stages[0]["chi2_start"]
    assert warm.rwp == pytest.approx(cold.rwp, rel=1e-3)
    r = run_xtal(tmp_path, "refine", str(data_file), "--phase", "Na2S", "--start",
                 str(tmp_path / "nowhere"), "--out", "bad")
    assert r.returncode == 2 and "nowhere" in r.stderr and not (tmp_path / "bad").exists()


def test_fits_that_cannot_be_tested(one_phase, data_file, tmp_path: Path) -> None:
    start_cif = one_phase.parent / "Na2S_start.cif"
    r = run_xtal(tmp_path, "refine", str(data_file), "--phase", str(start_cif), "--range",
                 "20", "60", "--out", "part")
    assert r.returncode == 0, r.stderr
    same = compare([one_phase, one_phase])  # the same fit twice: equal parameter counts
    assert not same.tests and any("same number of parameters" in n for n in same.notes)
    assert [f.name for f in same.fits] == ["fit", "fit (2)"]
    other = compare([one_phase, tmp_path / "part"])
    assert not other.tests and not other.extra
    assert any("not fitted to the same points" in n for n in other.notes)
