"""The refinement output directory: CIF esd keys, atomic replacement, crash safety."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import xtal.io.refine_output as ro
from xtal.app.refine import refine
from xtal.errors import InputError
from xtal.refine.result import Result


@pytest.fixture(scope="module")
def result(shared: Path) -> Result:
    d = shared / "synthetic" / "na3bs3_ht200_gsas2"
    return refine(d / "pattern.xy", ["Na3BS3-trigonal", "Na2S"], d / "instrument.instprm",
                  "na3bs3", two_theta_range=(20.0, 50.0))


def _log(result: Result) -> str:
    t = dt.datetime(2024, 1, 1, 12, 0, 0)
    return ro.format_log(result, "xtal refine test", t, t + dt.timedelta(seconds=2))


def test_cif_esds_use_the_cif_writer_keys(result: Result) -> None:
    pr = result.phases["Na3BS3-trigonal"]
    esds = ro.cif_esds(pr)
    assert esds["cell.a"] == pr.cell["a"].esd
    assert "cell.gamma" not in esds  # fixed by symmetry: no esd, no parentheses
    assert "cell.volume" not in esds
    assert esds["sites.Na1.b_iso"] == pr.sites["Na1"]["biso"].esd
    assert not any(k.endswith(".biso") for k in esds)
    text = ro.refined_cif(result, "Na3BS3-trigonal")
    assert f"{pr.cell['a']}" in text and "refined by xtal" in text
    assert "starting model:" in text


def test_log_has_command_times_and_stages(result: Result) -> None:
    log = _log(result)
    assert log.startswith("command: xtal refine test")
    assert "started: 2024-01-01T12:00:00" in log and "(2.0 s)" in log
    for st in result.stages:
        assert st["name"] in log


def test_writes_into_new_nested_dir(result: Result, tmp_path: Path) -> None:
    out = ro.write_refinement(result, tmp_path / "a" / "b", log_text=_log(result))
    assert all(p.exists() for p in out.files)
    assert Result.load(out.directory).rwp == result.rwp
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]


def test_non_empty_needs_force_and_force_replaces(result: Result, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(InputError, match="--force"):
        ro.write_refinement(result, target, log_text="x")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    ro.write_refinement(result, target, log_text="x", force=True)
    assert not (target / "old.txt").exists() and (target / "report.md").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no leftovers


def test_a_crash_while_writing_leaves_the_old_directory(result: Result, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_bytes(b"old results")

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ro, "plot_fit", boom)
    with pytest.raises(RuntimeError):
        ro.write_refinement(result, target, log_text="x", force=True)
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    assert (target / "old.txt").read_bytes() == b"old results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with pytest.raises(RuntimeError):
        ro.write_refinement(result, tmp_path / "new", log_text="x")
    assert not (tmp_path / "new").exists()


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file")
    with pytest.raises(InputError, match="not a directory"):
        ro.check_output_dir(tmp_path / "out", force=True)
