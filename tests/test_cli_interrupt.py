"""The command line a user meets: Ctrl-C, warnings one line each, Le Bail outputs.

Ctrl-C (issue 7 item 5): exit status 130, the one line ``xtal: interrupted``, and nothing
half-written — the output directory is absent or complete, no temporary directory is left,
and an old directory replaced with ``--force`` survives an interruption intact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import run_xtal
from conftest import EXAMPLE_RECIPE

from xtal.refine.result import Result

EXPECTED = {"result.json", "Na3BS3-trigonal.cif", "Na2S.cif", "fit.png", "report.md",
            "report.html", "refine.log"}


@pytest.fixture(scope="module")
def example(shared: Path) -> Path:
    return shared / "synthetic" / "na3bs3_ht200_gsas2"


def _refine_args(example: Path, out: str, *extra: str) -> list[str]:
    return ["refine", str(example / "pattern.xy"), "--phase", "Na3BS3-trigonal", "--phase",
            "Na2S", "--instrument", str(example / "instrument.instprm"), "--recipe",
            EXAMPLE_RECIPE, "--out", out, *extra]


def test_ctrl_c_ends_refine_with_130_and_one_line(tmp_path: Path, example: Path) -> None:
    """SIGINT to the process group after ~1 s, as a terminal's Ctrl-C sends it."""
    proc = subprocess.Popen([sys.executable, "-m", "xtal", *_refine_args(example, "out")],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[-1] == "xtal: interrupted", err
    assert "Traceback" not in err and sum("interrupted" in ln for ln in lines) == 1
    out = tmp_path / "out"
    if out.exists():  # finished before the signal came: then complete
        assert {p.name for p in out.iterdir()} == EXPECTED
        Result.load(out)
    assert [p.name for p in tmp_path.iterdir()] in ([], ["out"])  # no temporary directory


@pytest.mark.parametrize("force", [False, True])
def test_ctrl_c_while_writing_leaves_nothing_half_written(
        tmp_path: Path, example: Path, force: bool, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Interrupted between two output files (deterministically: the signal is sent while
    the first CIF is written): no new directory, and with --force the old one intact."""
    import xtal.io.refine_output as ro
    from xtal.cli import main

    monkeypatch.setenv("XTAL_PICTURE_WORKER", "0")
    original = ro.refined_cif

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)  # the handler raises here
        return original(*args, **kwargs)

    monkeypatch.setattr(ro, "refined_cif", interrupted)
    out = tmp_path / "out"
    if force:
        out.mkdir()
        (out / "old.txt").write_bytes(b"old results")
    before = signal.getsignal(signal.SIGINT)
    args = _refine_args(example, str(out), "--range", "20", "50")
    with pytest.raises(SystemExit) as exit_:
        main(args + (["--force"] if force else []))
    assert exit_.value.code == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "xtal: interrupted"
    assert signal.getsignal(signal.SIGINT) is before  # main() puts the handler back
    if force:
        assert [p.name for p in out.iterdir()] == ["old.txt"]
        assert (out / "old.txt").read_bytes() == b"old results"
        assert [p.name for p in tmp_path.iterdir()] == ["out"]
    else:
        assert list(tmp_path.iterdir()) == []


def test_input_warning_is_one_line(tmp_path: Path, shared: Path) -> None:
    """The tutorial's CuCr2O4.cif has O Uiso −0.004: read with a warning, on one line."""
    cif = shared / "real/cucr2o4_cuo_seq_11bm/CuCr2O4.cif"
    proc = run_xtal(tmp_path, "structures", "show", str(cif))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("xtal: warning: ") and "Uiso -0.004" in lines[0]
    assert "CuCr2O4" in proc.stdout


def test_le_bail_on_the_command_line(tmp_path: Path, example: Path) -> None:
    """Warnings one line each on the terminal; the Le Bail phase gets its intensities file
    (and no CIF: it has no structure); the table says why it has no weight fraction."""
    proc = run_xtal(tmp_path, "refine", str(example / "pattern.xy"), "--phase", "Na2S",
                    "--le-bail", "3.901,3.901,7.422,90,90,120:P 3",
                    "--instrument", str(example / "instrument.instprm"),
                    "--recipe", EXAMPLE_RECIPE, "--range", "20", "50", "--out", "out")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    names = {p.name for p in out.iterdir()}
    assert "lebail_P3_lebail.hkl" in names and "lebail_P3.cif" not in names
    assert "Na2S.cif" in names
    assert "lebail_P3_lebail.hkl" in proc.stdout  # listed with the outputs
    assert "Le Bail" in proc.stdout and "nan" not in proc.stdout.lower()
    warnings = json.loads((out / "result.json").read_text(encoding="utf-8"))["warnings"]
    assert warnings
    shown = [ln for ln in proc.stderr.splitlines() if ln.startswith("xtal: warning: ")]
    assert shown == [f"xtal: warning: {w}" for w in warnings]
