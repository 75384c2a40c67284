"""``xtal export RESULT_DIR --cif/--instprm/--xye``: a refinement carried on elsewhere.

The result is a refinement of the synthetic Na3BS3 glass-ceramic (~3 s).  Read-backs
use other readers: xtal's GSAS-II ``.instprm`` reader (checked against GSAS-II
files elsewhere), the pattern reader, and gemmi for the CIF.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_xtal
from conftest import EXAMPLE_RECIPE

from xtal.io.instprm import read_instrument
from xtal.io.patterns import read_pattern
from xtal.refine.result import Result

PHASES = ("Na3BS3-trigonal", "Na2S")


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Path:
    from xtal.app.refine import refine

    ex = shared / "synthetic" / "na3bs3_ht200_gsas2"
    result = refine(ex / "pattern.xy", list(PHASES), ex / "instrument.instprm", EXAMPLE_RECIPE)
    d = tmp_path_factory.mktemp("result")
    result.save(d / "result.json")
    return d




def test_instprm_round_trip(result_dir: Path, tmp_path: Path) -> None:
    r = run_xtal(tmp_path, "export", str(result_dir), "--instprm", "refined.instprm")
    assert r.returncode == 0, r.stderr
    back = read_instrument(tmp_path / "refined.instprm")
    ref = Result.load(result_dir).instrument
    for key in ("lam1", "lam2", "ratio", "polarization", "zero", "displacement", "radius",
                "U", "V", "W", "X", "Y", "Z", "sh_l"):
        assert getattr(back, key) == getattr(ref, key), key
    assert ref.zero != 0.0  # the refined zero shift, not the starting file's


def test_xye_round_trip(result_dir: Path, tmp_path: Path) -> None:
    r = run_xtal(tmp_path, "export", str(result_dir), "--xye", "obs.xye")
    assert r.returncode == 0, r.stderr
    (pat,) = read_pattern(tmp_path / "obs.xye")
    cv = Result.load(result_dir).curves
    assert pat.x == pytest.approx(cv.x, abs=1e-5)
    assert pat.y == pytest.approx(cv.observed, rel=1e-5)
    assert pat.sigma is not None
    assert pat.sigma == pytest.approx(cv.sigma, rel=1e-5)


def test_cif_one_per_phase_with_esds(result_dir: Path, tmp_path: Path) -> None:
    import gemmi

    r = run_xtal(tmp_path, "export", str(result_dir), "--cif", "refined.cif")
    assert r.returncode == 0, r.stderr
    result = Result.load(result_dir)
    for name in PHASES:
        path = tmp_path / f"refined_{name}.cif"
        text = path.read_text()
        assert re.search(r"^_cell_length_a\s+\d+\.\d+\(\d+\)$", text, re.M), name
        assert re.search(r"_atom_site_B_iso_or_equiv[\s\S]*\d\.\d+\(\d+\)", text), name
        assert "Rwp" in text
        cell = gemmi.cif.read_file(str(path)).sole_block()
        small = gemmi.make_small_structure_from_block(cell)
        pr = result.phases[name]
        for key, got in zip(("a", "b", "c"), (small.cell.a, small.cell.b, small.cell.c),
                            strict=True):
            v = pr.cell[key]
            # written to the esd's last digit: within half a unit of it (≤ one esd)
            assert abs(got - v.value) <= v.esd, (name, key)
        assert small.cell.gamma == pytest.approx(pr.cell["gamma"].value, abs=1e-6)
    assert not (tmp_path / "refined.cif").exists()


def test_cif_single_phase_and_p1(result_dir: Path, tmp_path: Path) -> None:
    import gemmi

    r = run_xtal(tmp_path, "export", str(result_dir), "--cif", "na2s.cif", "--phase", "Na2S",
                 "--p1")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["na2s.cif"]
    small = gemmi.read_small_structure(str(tmp_path / "na2s.cif"))
    assert len(small.sites) == 12  # 4 S + 8 Na in P1
    a = Result.load(result_dir).phases["Na2S"].cell["a"]
    assert abs(small.cell.a - a.value) <= a.esd


def test_bad_input(result_dir: Path, tmp_path: Path) -> None:
    r = run_xtal(tmp_path, "export", "Na2S", "--xye", "x.xye")
    assert r.returncode == 2 and "result directory" in r.stderr
    r = run_xtal(tmp_path, "export", str(result_dir), "--cif", "x.cif", "--phase", "Nope")
    assert r.returncode == 2 and "no phase 'Nope'" in r.stderr
    r = run_xtal(tmp_path, "export", str(result_dir))
    assert r.returncode == 2 and "nothing to export" in r.stderr
    (tmp_path / "empty").mkdir()
    r = run_xtal(tmp_path, "export", "empty", "--cif", "x.cif")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    # an existing target stops the whole export before anything is written
    (tmp_path / "obs.xye").write_text("keep")
    r = run_xtal(tmp_path, "export", str(result_dir), "--instprm", "i.instprm", "--xye",
                 "obs.xye")
    assert r.returncode == 2 and "exists" in r.stderr
    assert not (tmp_path / "i.instprm").exists()
    assert (tmp_path / "obs.xye").read_text() == "keep"
    assert not list(tmp_path.glob("*.cif"))


def test_observed_pattern_api(result_dir: Path) -> None:
    from xtal.io.result_export import observed_pattern

    result = Result.load(result_dir)
    pat = observed_pattern(result)
    assert np.array_equal(pat.sigma, result.curves.sigma)
    assert pat.wavelength == result.instrument.lam1
