"""One form of ``--range`` everywhere: ``LO HI``, with an optional STEP where a command
makes its own grid (simulate, compare); ``LO,HI`` works too; help texts show the form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_xtal


@pytest.mark.parametrize(("args", "n"), [(["20", "30"], 1001), (["20", "30", "0.05"], 201),
                                         (["20,30,0.05"], 201), (["20,30"], 1001)])
def test_simulate_range_forms(tmp_path: Path, args: list[str], n: int) -> None:
    r = run_xtal(tmp_path, "simulate", "Na2S", "--range", *args, "--out", "s.xy")
    assert r.returncode == 0, r.stderr
    x = np.loadtxt(tmp_path / "s.xy", comments="#")[:, 0]
    assert x.size == n and x[0] == pytest.approx(20.0) and x[-1] == pytest.approx(30.0)


@pytest.mark.parametrize(("command", "extra"), [
    ("refine", ["data.xy", "--phase", "Na2S", "--out", "o"]),
    ("series", ["data.xy", "--phase", "Na2S", "--out", "o"]),
])
def test_step_refused_where_the_data_give_it(tmp_path: Path, command: str,
                                             extra: list[str]) -> None:
    r = run_xtal(tmp_path, command, *extra, "--range", "10", "80", "0.01")
    assert r.returncode == 2 and "takes LO HI" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_xtal(tmp_path, command, *extra, "--range", "80", "10")
    assert r.returncode == 2 and "LO must be below HI" in r.stderr


def test_simulate_bad_step(tmp_path: Path) -> None:
    r = run_xtal(tmp_path, "simulate", "Na2S", "--range", "10", "80", "-0.01", "--out", "s.xy")
    # -0.01 is a number: it is the STEP, and refused as such
    assert r.returncode == 2 and "STEP must be positive" in r.stderr
    assert not (tmp_path / "s.xy").exists()


@pytest.mark.parametrize(("command", "form"), [("simulate", "LO HI [STEP]"),
                                               ("compare", "LO HI [STEP]"),
                                               ("refine", "LO HI"), ("series", "LO HI")])
def test_help_shows_the_form(tmp_path: Path, command: str, form: str) -> None:
    r = run_xtal(tmp_path, command, "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert f"--range {form}" in text, text
    assert "<float,float" not in text and "FLOAT FLOAT" not in text
