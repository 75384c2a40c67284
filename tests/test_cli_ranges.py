"""One form of ``--range`` everywhere: ``LO HI``, with an optional STEP where a command
makes its own grid (simulate, compare); ``LO,HI`` works too; help texts show the form.

Run in-process (``xtal.cli.main``): the parsing is what is tested, not the interpreter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import xtal.cli as cli


def xtal_main(capsys, *args: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``xtal ARGS``."""
    try:
        cli.main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("args", "n"), [(["20", "30"], 1001), (["20", "30", "0.05"], 201),
                                         (["20,30,0.05"], 201), (["20,30"], 1001)])
def test_simulate_range_forms(tmp_path: Path, capsys, args: list[str], n: int) -> None:
    out = tmp_path / "s.xy"
    code, _, err = xtal_main(capsys, "simulate", "Na2S", "--range", *args, "--out", str(out))
    assert code == 0, err
    x = np.loadtxt(out, comments="#")[:, 0]
    assert x.size == n and x[0] == pytest.approx(20.0) and x[-1] == pytest.approx(30.0)


@pytest.mark.parametrize("command", ["refine", "series"])
def test_step_refused_where_the_data_give_it(tmp_path: Path, capsys, command: str) -> None:
    extra = [str(tmp_path / "data.xy"), "--phase", "Na2S", "--out", str(tmp_path / "o")]
    code, _, err = xtal_main(capsys, command, *extra, "--range", "10", "80", "0.01")
    assert code == 2 and "takes LO HI" in err, err
    assert len(err.strip().splitlines()) == 1
    code, _, err = xtal_main(capsys, command, *extra, "--range", "80", "10")
    assert code == 2 and "LO must be below HI" in err
    assert not (tmp_path / "o").exists()


def test_simulate_bad_step(tmp_path: Path, capsys) -> None:
    out = tmp_path / "s.xy"
    code, _, err = xtal_main(capsys, "simulate", "Na2S", "--range", "10", "80", "-0.01",
                             "--out", str(out))
    # -0.01 is a number: it is the STEP, and refused as such
    assert code == 2 and "STEP must be positive" in err
    assert not out.exists()


@pytest.mark.parametrize(("command", "form"), [("simulate", "LO HI [STEP]"),
                                               ("compare", "LO HI [STEP]"),
                                               ("refine", "LO HI"), ("series", "LO HI")])
def test_help_shows_the_form(capsys, monkeypatch, command: str, form: str) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = xtal_main(capsys, command, "--help")
    assert code == 0
    text = " ".join(out.split())
    assert f"--range {form}" in text, text
    assert "<float,float" not in text and "FLOAT FLOAT" not in text
