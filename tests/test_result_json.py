"""``Result`` ↔ JSON: the documented schema and an exact round trip.

A small refinement (synthetic Na3BS3 + Na2S, 2θ 20–50°) run once in-process.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xtal.app.refine import refine
from xtal.errors import InputError
from xtal.refine.result import SCHEMA, Result


@pytest.fixture(scope="module")
def result(shared: Path) -> Result:
    d = shared / "synthetic" / "na3bs3_ht200_gsas2"
    return refine(d / "pattern.xy", ["Na3BS3-trigonal", "Na2S"], d / "instrument.instprm",
                  "na3bs3", two_theta_range=(20.0, 50.0))


def test_schema_has_the_documented_keys(result: Result) -> None:
    d = json.loads(result.dumps())
    assert d["schema"] == SCHEMA
    for key in ("rwp", "rp", "rexp", "gof", "chi2", "n_points", "n_parameters",
                "rwp_background_subtracted", "rp_background_subtracted", "stopped",
                "warnings", "stages", "correlations", "phases", "parameters", "instrument",
                "curves"):
        assert key in d, key
    tri = d["phases"]["Na3BS3-trigonal"]
    assert set(tri["cell"]) == {"a", "b", "c", "alpha", "beta", "gamma", "volume"}
    assert set(tri["sites"]["B1"]) == {"x", "y", "z", "occ", "biso"}
    assert tri["cell"]["a"]["esd"] > 0
    assert not tri["cell"]["gamma"]["esd"]  # fixed by symmetry (null or 0)
    assert set(d["curves"]) >= {"x", "observed", "calculated", "background", "sigma", "phases"}
    assert len(d["curves"]["x"]) == d["n_points"]
    for name, v in d["parameters"].items():
        assert set(v) == {"value", "esd"}, name


def test_round_trip_is_exact(result: Result, tmp_path: Path) -> None:
    back = Result.from_json(json.loads(result.dumps()))
    assert back.to_json() == json.loads(result.dumps())
    for name, v in result.parameters.items():
        assert back.parameters[name] == v
    for name, pr in result.phases.items():
        bp = back.phases[name]
        assert bp.cell == pr.cell and bp.sites == pr.sites
        assert bp.weight_fraction == pr.weight_fraction and bp.r_bragg == pr.r_bragg
        assert bp.phase.cell.parameters == pr.phase.cell.parameters
    np.testing.assert_array_equal(back.curves.calculated, result.curves.calculated)
    assert back.instrument == result.instrument
    result.save(tmp_path / "result.json")
    assert Result.load(tmp_path).to_json() == back.to_json()


def test_corrupt_or_foreign_json_is_an_input_error(tmp_path: Path, result: Result) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        Result.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"schema": "something/else"}')
    with pytest.raises(InputError, match="not an xtal result"):
        Result.load(tmp_path / "other.json")
    d = json.loads(result.dumps())
    del d["phases"]
    (tmp_path / "cut.json").write_text(json.dumps(d))
    with pytest.raises(InputError, match="incomplete"):
        Result.load(tmp_path / "cut.json")


def test_dumps_is_the_same_json_as_the_json_module(result: Result) -> None:
    """result.json holds exactly what ``json.dumps(indent=1)`` would (the reference), long
    numeric lists on one line each; NaN refused; text holding NULs falls back."""
    from xtal.refine.result import dumps_indented

    d = result.to_json()
    text = result.dumps()
    assert json.loads(text) == json.loads(json.dumps(d, indent=1, allow_nan=False))
    x = d["curves"]["x"]
    assert len(x) > 16 and json.dumps(x) in text  # one line
    assert text.count("\n") < 2000  # not one line per number (was > 25 000)
    tricky = {"a": "\x00" + "0" + "\x00", "b": list(range(20)), "c": [1.5] * 17,
              "d": [True] * 20, "e": ["\\u0000", 1], "f": [[1.0] * 17, {"g": (2,) * 18}]}
    assert json.loads(dumps_indented(tricky)) == json.loads(json.dumps(tricky))
    with pytest.raises(ValueError):
        dumps_indented({"a": [float("nan")] * 20})
