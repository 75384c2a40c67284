"""Series refinement: the 11-BM CuCr2O4 + CuO temperature series (GSAS-II's sequential
tutorial data, ../shared/data/README.md), sequential and chunked, on Dask, resumable.

References: the physics of CuCr2O4 (orthorhombic Fddd below ≈ 130 K, where b and c
split; above it b = c within their esds: Suchomel et al., Phys. Rev. B 86, 054406,
2012; the cell changes smoothly), identities (weight fractions sum to 1), and the
strictly serial run for the chunked and the distributed ones.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from xtal.app.series import refine_series

RECIPE = str(Path(__file__).resolve().parents[1] / "refinements/cucr2o4_seq.toml")
OPTIONS = {"two_theta_range": (4.5, 26.1)}


@pytest.fixture(scope="module")
def data(shared) -> Path:
    return shared / "real/cucr2o4_cuo_seq_11bm"


def _series(data: Path, files, **kw):
    return refine_series(
        [str(data / f) for f in files],
        [data / "CuCr2O4.cif", data / "CuO.cif"],
        data / "OH_00.prm",
        RECIPE,
        options=OPTIONS,
        **kw,
    )


@pytest.fixture(scope="module")
def whole(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("series")
    return _series(data, ["OH_*.fxye"], out=out), out


def test_the_whole_series_refines_in_temperature_order(whole):
    series, out = whole
    df = series.to_dataframe()
    assert len(df) == 17 and (df["status"] == "ok").all(), df[["pattern", "status", "reason"]]
    assert np.all(np.diff(df["temperature_K"]) > 0)  # ordered by the sample temperature
    assert list(df["seed"])[1:] == list(df["pattern"])[:-1]  # each from its neighbour
    fractions = df["phases.CuCr2O4.weight_fraction"] + df["phases.CuO.weight_fraction"]
    assert np.allclose(fractions, 1.0, atol=1e-12)
    for name in ("series.csv", "series.parquet", "series.png", "series.html"):
        assert (out / name).stat().st_size > 0
    assert all((out / p / "result.json").is_file() for p in df["pattern"])


def test_cucr2o4_cell_follows_its_physics(whole):
    """b and c split below ≈ 130 K (orthorhombic) and are equal above it; a grows and b
    shrinks smoothly and monotonically on warming."""
    df = whole[0].to_dataframe()
    t = df["temperature_K"].to_numpy()
    cell = {k: df[f"phases.CuCr2O4.cell.{k}"].to_numpy() for k in "abc"}
    esd = {k: df[f"phases.CuCr2O4.cell.{k}_esd"].to_numpy() for k in "abc"}
    split = (cell["b"] - cell["c"]) / np.hypot(esd["b"], esd["c"])
    assert np.all(split[t < 80] > 20)
    assert np.all(np.abs(split[t > 140]) < 3)
    assert np.all(np.diff(cell["a"]) > 0)
    assert np.all(np.diff(cell["b"]) < np.hypot(esd["b"][1:], esd["b"][:-1]))
    # above the transition b changes smoothly: each value on the line through its
    # neighbours within 3 esd
    hot = np.nonzero(t > 140)[0]
    for i in hot[1:-1]:
        line = np.interp(t[i], [t[i - 1], t[i + 1]], [cell["b"][i - 1], cell["b"][i + 1]])
        assert abs(cell["b"][i] - line) < 3 * esd["b"][i], (df["pattern"][i], cell["b"][i])


FIVE = ["OH_00.fxye", "OH_14.fxye", "OH_22.fxye", "OH_30.fxye", "OH_41.fxye"]


def test_chunks_agree_with_the_strictly_serial_run_within_one_esd(data):
    """Chunks start from the reference fit (cells searched first), not their neighbour."""
    serial = _series(data, FIVE).to_dataframe()
    chunked = _series(data, FIVE, chunks=2).to_dataframe()
    assert list(chunked["seed"]) == ["", "OH_00", "OH_14", "OH_00", "OH_30"]
    for k in "abc":
        col = f"phases.CuCr2O4.cell.{k}"
        diff = np.abs(serial[col] - chunked[col]) / serial[f"{col}_esd"]
        assert np.all(diff < 1.0), (k, diff.to_numpy())


def test_a_failed_pattern_does_not_seed_the_next(data, tmp_path):
    # readable, but nothing of it lies in the refined range: its fit fails, not the series
    bad = tmp_path / "OH_20.xy"  # between OH_14 and OH_22 in temperature (metadata CSV)
    bad.write_text("\n".join(f"{x:.3f} 100" for x in np.arange(30, 40, 0.01)))
    meta = tmp_path / "meta.csv"
    meta.write_text("file,temperature_K\nOH_20.xy,95\n")
    files = [str(data / f) for f in FIVE[:3]] + [str(bad)]
    series = refine_series(files, [data / "CuCr2O4.cif", data / "CuO.cif"],
                           data / "OH_00.prm", RECIPE, options=OPTIONS, metadata=meta)
    df = series.to_dataframe().set_index("pattern")
    assert df.loc["OH_20", "status"] == "failed" and df.loc["OH_20", "reason"]
    assert df.loc["OH_22", "status"] == "ok"
    assert df.loc["OH_22", "seed"] == "OH_14"  # not the failed OH_20


def test_rerunning_resumes_without_refitting(data, tmp_path):
    first = _series(data, FIVE[:3], out=tmp_path)
    shutil.rmtree(tmp_path / "OH_14")
    calls = []
    again = _series(data, FIVE[:3], out=tmp_path, on_outcome=lambda o, d, t: calls.append(o))
    assert [o.label for o in calls] == ["OH_14"]  # only the missing one is refitted
    assert again.outcomes["OH_00"].seed == "resumed"
    a = first.results()["OH_22"].value("phases.CuCr2O4.cell.a")
    b = again.results()["OH_22"].value("phases.CuCr2O4.cell.a")
    assert abs(a.value - b.value) < a.esd


@pytest.fixture()
def cluster(tmp_path):
    """A Dask scheduler and two single-threaded workers on 127.0.0.1."""
    dask = Path(sys.executable).with_name("dask")
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sched_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for _ in range(100):
        if sched_file.exists():
            break
        time.sleep(0.1)
    import json

    address = json.loads(sched_file.read_text())["address"]
    for _ in range(2):
        procs.append(subprocess.Popen([str(dask), "worker", address, "--nthreads", "1",
                                       "--no-dashboard", "--nworkers", "1"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
    yield address
    for p in procs[::-1]:
        p.terminate()
        p.wait(timeout=30)


def test_a_remote_cluster_gives_the_local_results(data, cluster):
    local = _series(data, FIVE[:3], mode="independent").results()
    remote = _series(data, FIVE[:3], mode="independent", scheduler=cluster).results()
    assert set(local) == set(remote)
    for label, res in local.items():
        for name, v in res.parameters.items():
            assert remote[label].parameters[name].value == pytest.approx(v.value, rel=1e-9,
                                                                          abs=1e-12), name
        assert remote[label].rwp == pytest.approx(res.rwp, rel=1e-12)


def test_cli_writes_the_series(data, tmp_path):
    from cli_helpers import run_xtal

    (tmp_path / "meta.csv").write_text("file,furnace_C\nOH_00.fxye,-266.4\nOH_04,-256.5\n")
    proc = run_xtal(tmp_path, "series", str(data / "OH_00.fxye"), str(data / "OH_04.fxye"),
                    "--phase", str(data / "CuCr2O4.cif"), "--phase", str(data / "CuO.cif"),
                    "--instrument", str(data / "OH_00.prm"), "--recipe", RECIPE,
                    "--range", "4.5", "26.1", "--metadata", "meta.csv", "--out", "out")
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "out/series.csv").read_text()
    assert text.count("\n") == 3 and "temperature_K" in text
    assert "2 of 2 patterns refined" in proc.stdout
    # the terminal table: a row per pattern with the file's temperature, Rwp and the
    # phases' volumes and weight fractions, the same numbers as series.csv
    import pandas as pd

    df = pd.read_csv(tmp_path / "out/series.csv")
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in proc.stdout.splitlines() if line.startswith("│")}
    assert sorted(rows) == ["OH_00", "OH_04"]
    header = next(line for line in proc.stdout.splitlines() if line.startswith("┃"))
    cols = [c.strip() for c in header.split("┃")[2:-1]]
    for r in df.to_dict("records"):
        cells = dict(zip(cols, rows[r["pattern"]], strict=True))
        assert cells["T (K)"] == f"{r['temperature_K']:.2f}"
        assert cells["furnace_C"] == f"{r['furnace_C']:.2f}"  # a --metadata column
        assert cells["Rwp (%)"] == f"{100 * r['rwp']:.2f}" and cells["status"] == "ok"
        v = cells["CuCr2O4 V (Å³)"]
        assert abs(float(v.split("(")[0]) - r["phases.CuCr2O4.cell.volume"]) < 1e-3
        wt = cells["CuO wt% (of crystalline part)"]
        assert abs(float(wt.split("(")[0]) - 100 * r["phases.CuO.weight_fraction"]) < 1e-2



def test_a_fit_runs_with_one_blas_thread(monkeypatch):
    """fit_one limits BLAS to one thread while it fits (series_exec.fit_one says why), here
    as in a Dask worker; the limit ends with the fit."""
    from thread_helpers import blas_threads, stop_recording_threads

    import xtal.refine.api as api
    from xtal.app.series_exec import FitJob, fit_one

    before = blas_threads()
    seen = stop_recording_threads(monkeypatch, api, "refine_values")
    outcome = fit_one(FitJob("p", None, (), None, None))
    assert outcome.status == "failed" and outcome.error == "stop here"
    assert seen and seen[0] and all(n == 1 for n in seen[0]), seen
    assert blas_threads() == before


def test_local_workers_run_without_dask_malloc_trim():
    """The local cluster's workers keep glibc's dynamic mmap threshold (no
    MALLOC_TRIM_THRESHOLD_, series_exec.local_cluster says why) and one BLAS thread."""
    import os

    from distributed import Client

    from xtal.app.series_exec import local_cluster

    keys = ("MALLOC_TRIM_THRESHOLD_", "OPENBLAS_NUM_THREADS")
    with local_cluster(1) as cluster, Client(cluster) as client:
        env = client.submit(lambda: {k: os.environ.get(k) for k in keys}, pure=False).result()
    assert env == {"MALLOC_TRIM_THRESHOLD_": None, "OPENBLAS_NUM_THREADS": "1"}
