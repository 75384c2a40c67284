"""``xtal refine`` and ``xtal report`` run as a user runs them: subprocesses in scratch dirs.

The refinement is the synthetic Na3BS3 glass-ceramic (GSAS-II pattern, ~2 s) with
the ``na3bs3`` recipe.  Checked: every output file is written and readable by
other programs (gemmi, pymatgen, a PNG decoder); a non-empty ``--out`` is refused
without ``--force`` and left byte-identical; bad input gives one line on stderr,
exit 2 and no output directory; a singular refinement stops with its reason,
writes the last good state and exits 1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_xtal

from xtal.util.esd import format_esd

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PHASES = ("Na3BS3-trigonal", "Na2S")




@pytest.fixture(scope="session")
def example(shared: Path) -> Path:
    return shared / "synthetic" / "na3bs3_ht200_gsas2"


def refine_args(example: Path, out: str, *extra: str, phases=PHASES) -> list[str]:
    args = ["refine", str(example / "pattern.xy")]
    for p in phases:
        args += ["--phase", p]
    return args + ["--instrument", str(example / "instrument.instprm"), "--recipe", "na3bs3",
                   "--out", out, *extra]


@pytest.fixture(scope="module")
def refined(tmp_path_factory: pytest.TempPathFactory, example: Path):
    """One full refinement (run once for the module)."""
    cwd = tmp_path_factory.mktemp("refine")
    proc = run_xtal(cwd, *refine_args(example, "out"))
    return cwd / "out", proc


def test_refine_writes_every_output(refined) -> None:
    out, proc = refined
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["result.json", "Na3BS3-trigonal.cif", "Na2S.cif", "fit.png",
                            "report.md", "report.html", "refine.log"])
    # no temporary sibling directory is left behind
    assert [p.name for p in out.parent.iterdir()] == ["out"]
    # the summary names the cells, weight fractions, Rwp and where the outputs are
    assert "Rwp" in proc.stdout and "Na2S" in proc.stdout and str(out.name) in proc.stdout


def test_result_json_has_the_documented_keys(refined) -> None:
    out, _ = refined
    d = json.loads((out / "result.json").read_text(encoding="utf-8"))
    for key in ("rwp", "rp", "rexp", "gof", "n_points", "n_parameters"):
        assert isinstance(d[key], int | float), key
    assert d["n_points"] == 7001
    for name in PHASES:
        ph = d["phases"][name]
        for k in ("a", "b", "c", "alpha", "beta", "gamma", "volume"):
            assert set(ph["cell"][k]) == {"value", "esd"}
        assert set(ph["weight_fraction"]) == {"value", "esd"}
        assert set(ph["r_bragg"]) == {"value", "esd"}
        for site in ph["sites"].values():
            for k in ("x", "y", "z", "occ", "biso"):
                assert set(site[k]) == {"value", "esd"}
    assert d["parameters"]["phases.Na2S.cell.a"]["esd"] > 0
    assert d["parameters"]["phases.Na2S.sites.Na1.x"]["esd"] is None  # special position
    wf = sum(d["phases"][n]["weight_fraction"]["value"] for n in PHASES)
    assert wf == pytest.approx(1.0)


def test_r_factors_match_the_curves(refined) -> None:
    """Identity check: Rwp and Rp recomputed from the stored curves (physics.md §7)."""
    out, _ = refined
    d = json.loads((out / "result.json").read_text(encoding="utf-8"))
    c = d["curves"]
    yo, yc, sig = (np.asarray(c[k]) for k in ("observed", "calculated", "sigma"))
    w = 1.0 / sig**2
    assert d["rwp"] == pytest.approx(np.sqrt(np.sum(w * (yo - yc) ** 2) / np.sum(w * yo**2)),
                                     rel=1e-9)
    assert d["rp"] == pytest.approx(np.sum(np.abs(yo - yc)) / np.sum(yo), rel=1e-9)
    dof = d["n_points"] - d["n_parameters"]
    assert d["rexp"] == pytest.approx(np.sqrt(dof / np.sum(w * yo**2)), rel=1e-9)


def test_refined_cif_reads_in_gemmi_and_pymatgen(refined) -> None:
    import gemmi
    from pymatgen.core import Structure

    out, _ = refined
    d = json.loads((out / "result.json").read_text(encoding="utf-8"))
    for name in PHASES:
        path = out / f"{name}.cif"
        cell = {k: d["phases"][name]["cell"][k] for k in ("a", "c")}
        small = gemmi.read_small_structure(str(path))
        assert small.cell.a == pytest.approx(cell["a"]["value"], abs=1e-5)
        assert small.cell.c == pytest.approx(cell["c"]["value"], abs=1e-5)
        s = Structure.from_file(str(path))
        assert s.lattice.a == pytest.approx(cell["a"]["value"], abs=1e-5)
        text = path.read_text(encoding="utf-8")
        # the refined cell with its esd, and the Rwp of the refinement in the header
        assert format_esd(cell["a"]["value"], cell["a"]["esd"]) in text
        assert f"Rwp = {100 * d['rwp']:.2f} %" in text


def test_report_uses_crystallographic_notation(refined) -> None:
    out, _ = refined
    d = json.loads((out / "result.json").read_text(encoding="utf-8"))
    report = (out / "report.md").read_text(encoding="utf-8")
    for name in PHASES:
        for k in ("a", "c", "volume"):
            v = d["phases"][name]["cell"][k]
            assert format_esd(v["value"], v["esd"]) in report
        assert re.search(r"\d\(\d+\)", report)
    for heading in ("Agreement factors", "Instrument", "Refined parameters", "Stages",
                    "Warnings"):
        assert f"## {heading}" in report
    log = (out / "refine.log").read_text(encoding="utf-8")
    assert "command: xtal refine" in log and "started:" in log and "finished:" in log


def test_fit_png_is_a_real_picture(refined) -> None:
    import matplotlib.image as mpimg

    out, _ = refined
    png = out / "fit.png"
    assert png.read_bytes()[:8] == PNG_MAGIC
    img = mpimg.imread(png)
    assert img.shape[0] > 400 and img.shape[1] > 600
    assert float(np.std(img[..., :3])) > 0.02  # not blank


def test_non_empty_out_is_refused_and_left_alone(tmp_path: Path, example: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_bytes(b"precious\x00bytes")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = run_xtal(tmp_path, *refine_args(example, "out", "--range", "20", "40"))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "--force" in proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_force_replaces_the_old_contents(tmp_path: Path, example: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    proc = run_xtal(tmp_path, *refine_args(example, "out", "--range", "20", "40", "--exclude",
                                           "29", "30", "--force"))
    assert proc.returncode == 0, proc.stderr
    assert not (out / "old.txt").exists() and (out / "result.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    x = np.asarray(json.loads((out / "result.json").read_text())["curves"]["x"])
    assert x.min() >= 20 and x.max() <= 40 and not np.any((x >= 29) & (x <= 30))


def _bad_cases(example: Path, tmp: Path) -> dict[str, list[str]]:
    lines = (example / "pattern.xy").read_text().splitlines()
    (tmp / "truncated.xy").write_text("\n".join(lines[:1500]) + "\n10.01")  # cut mid-line
    (tmp / "corrupt.xy").write_bytes(b"\x00\x01\x02garbage\xff" * 200)
    nan = list(lines)
    nan[100] = nan[100].split()[0] + " nan"
    (tmp / "nan.xy").write_text("\n".join(nan) + "\n")
    mono = list(lines)
    mono[100] = "5.0 " + mono[100].split()[1]
    (tmp / "nonmono.xy").write_text("\n".join(mono) + "\n")
    (tmp / "bad.toml").write_text('name = "bad"\n[[stage]\nrefine = ["x"]\n')
    good = str(example / "pattern.xy")
    inst = ["--instrument", str(example / "instrument.instprm")]
    return {
        "truncated": ["refine", "truncated.xy", "--phase", "Na2S", *inst, "--out", "out"],
        "corrupt": ["refine", "corrupt.xy", "--phase", "Na2S", *inst, "--out", "out"],
        "nan": ["refine", "nan.xy", "--phase", "Na2S", *inst, "--out", "out"],
        "nonmono": ["refine", "nonmono.xy", "--phase", "Na2S", *inst, "--out", "out"],
        "empty range": ["refine", good, "--phase", "Na2S", "--range", "100", "110",
                        "--out", "out"],
        "no peaks in range": ["refine", good, "--phase", "Na2S", "--range", "10", "11",
                              "--out", "out"],
        "unknown phase": ["refine", good, "--phase", "NoSuchPhase", "--out", "out"],
        "bad recipe": ["refine", good, "--phase", "Na2S", "--recipe", "bad.toml",
                       "--out", "out"],
        "missing instrument": ["refine", good, "--phase", "Na2S", "--instrument", "none.prm",
                               "--out", "out"],
    }


BAD = ["truncated", "corrupt", "nan", "nonmono", "empty range", "no peaks in range",
       "unknown phase", "bad recipe", "missing instrument"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_exit_2_nothing_written(case: str, tmp_path: Path,
                                                      example: Path) -> None:
    args = _bad_cases(example, tmp_path)[case]
    before = set(tmp_path.iterdir())
    proc = run_xtal(tmp_path, *args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xtal: error:"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert set(tmp_path.iterdir()) == before  # no out/, no temporary directory


def test_degenerate_scales_do_not_stop_the_refinement(tmp_path: Path, example: Path) -> None:
    """Two copies of one phase: their scales are exactly degenerate.  The refinement goes
    on, names the combination it cannot resolve, and gives those scales no esd."""
    from xtal.io.library import shipped_path

    text = shipped_path("Na2S").read_text(encoding="utf-8")
    # a phase without _pd_phase_name is named after its file
    (tmp_path / "Na2S_copy.cif").write_text(re.sub(r"^data_\S+", "data_Na2S_copy", text,
                                                   flags=re.M))
    proc = run_xtal(tmp_path, *refine_args(example, "out", phases=(*PHASES, "Na2S_copy.cif")))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    d = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert d["stopped"] is None
    names = [p for p in d["phases"] if p.startswith("Na2S")]
    assert len(names) == 2
    ill = [w for w in d["warnings"] if "ill-conditioned" in w]
    assert any(all(f"phases.{n}.scale" in w for n in names) for w in ill), d["warnings"]
    # their split is all but undetermined: no esd, or the two scales fully anticorrelated
    keys = {f"phases.{n}.scale" for n in names}
    esds = [d["parameters"][k]["esd"] for k in keys]
    pairs = [c for c in d["correlations"] if {c["a"], c["b"]} == keys]
    assert None in esds or (pairs and pairs[0]["rho"] < -0.9), (esds, pairs)
    assert "ill-conditioned" in proc.stderr  # warnings reach the terminal too
    # the pair still describes the pattern: the sum of their fractions is the Na2S fraction
    wf = sum(d["phases"][n]["weight_fraction"]["value"] for n in names)
    assert abs(wf - 0.0739) < 0.01


def test_report_regenerates_and_refuses_to_overwrite(refined, tmp_path: Path) -> None:
    import shutil

    out, _ = refined
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    old = (copy / "report.md").read_bytes()
    proc = run_xtal(tmp_path, "report", "copy")
    assert proc.returncode == 2 and "--force" in proc.stderr
    assert (copy / "report.md").read_bytes() == old
    (copy / "report.md").unlink()
    (copy / "fit.png").unlink()
    (copy / "report.html").unlink()
    proc = run_xtal(tmp_path, "report", "copy")
    assert proc.returncode == 0, proc.stderr
    new = (copy / "report.md").read_text(encoding="utf-8")
    # same tables (the report is a function of result.json alone)
    assert new == old.decode("utf-8")
    assert (copy / "fit.png").read_bytes()[:8] == PNG_MAGIC
    assert "<svg" in (copy / "report.html").read_text(encoding="utf-8")
    proc = run_xtal(tmp_path, "report", "copy", "--force")
    assert proc.returncode == 0, proc.stderr


def test_the_fit_runs_with_one_blas_thread(monkeypatch, tmp_path: Path, example: Path) -> None:
    """``xtal refine`` fits with one BLAS thread (app.refine_job says why: measured 8 %
    faster as a whole process on 2 cores); the limit ends with the fit."""
    from thread_helpers import blas_threads, stop_recording_threads

    import xtal.app.cross_check as cross_check
    from xtal.app.refine_job import RefineRequest, run_refinement
    from xtal.errors import InputError

    before = blas_threads()
    seen = stop_recording_threads(monkeypatch, cross_check, "refine_with")
    req = RefineRequest(example / "pattern.xy", tuple(PHASES), tmp_path / "out",
                        instrument=example / "instrument.instprm", recipe="na3bs3")
    with pytest.raises(InputError, match="stop here"):
        run_refinement(req, "xtal refine")
    assert seen and seen[0] and all(n == 1 for n in seen[0]), seen
    # the limit is lifted again (a library loaded meanwhile, e.g. scipy's own OpenBLAS,
    # comes with its default)
    assert set(blas_threads()) == set(before)
    assert not (tmp_path / "out").exists()
