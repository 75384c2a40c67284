"""``xtal simulate`` run as a user runs it: a subprocess, in a scratch directory.

Checks the files it writes (an ``.xy`` with a commented header and two numeric
columns on the requested 2θ grid, a real PNG) and that it never overwrites an
existing output without ``--force``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_xtal

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"




def read_xy(path: Path) -> tuple[list[str], np.ndarray]:
    """Header lines (without '#') and the numeric rows of an .xy file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [ln[1:].strip() for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    # every data line must hold exactly two numbers
    rows = [ln.split() for ln in body]
    assert all(len(r) == 2 for r in rows), "every data line has two columns"
    return header, np.array(rows, dtype=float)


@pytest.fixture(scope="module")
def mixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """The README's example: trigonal Na3BS3 + Na2S 93:7 with a plot (run once)."""
    cwd = tmp_path_factory.mktemp("sim")
    proc = run_xtal(
        cwd,
        "simulate",
        "Na3BS3-trigonal",
        "Na2S",
        "--weights",
        "0.93,0.07",
        "--range",
        "10",
        "80",
        "0.01",
        "--out",
        "sim.xy",
        "--plot",
        "sim.png",
    )
    return cwd, proc


def test_simulate_writes_xy_on_the_requested_grid(mixture) -> None:
    cwd, proc = mixture
    assert proc.returncode == 0, proc.stderr
    header, data = read_xy(cwd / "sim.xy")
    assert header, "the .xy starts with a commented header"
    text = " ".join(header)
    assert "Na3BS3-trigonal" in text and "Na2S" in text
    assert "0.93" in text and "0.07" in text  # the weight fractions are recorded
    assert "1.5405929" in text  # Cu Kα1 of the default instrument
    x, y = data[:, 0], data[:, 1]
    assert x.size == 7001
    np.testing.assert_allclose(x, 10.0 + 0.01 * np.arange(7001), atol=1e-9)
    assert np.all(np.isfinite(y)) and np.all(y >= 0)
    assert y.max() > 0
    # the strongest Na3BS3 line (102 family, Kα1 at 35.92°) is where the pattern peaks
    assert abs(x[np.argmax(y)] - 35.92) < 0.05


def test_simulate_writes_a_png(mixture) -> None:
    cwd, proc = mixture
    assert proc.returncode == 0, proc.stderr
    png = cwd / "sim.png"
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000  # a plot with a curve and ticks, not an empty canvas
    import matplotlib.image

    img = matplotlib.image.imread(png)
    assert img.shape[0] > 300 and img.shape[1] > 600
    assert img[..., :3].std() > 0.01  # not a blank image
    # no temporary files left next to the outputs
    assert sorted(p.name for p in cwd.iterdir()) == ["sim.png", "sim.xy"]


def test_simulate_other_grid_and_instrument_file(tmp_path: Path, shared: Path) -> None:
    prm = shared / "real" / "pbso4_cpd_xray" / "INST_XRY.PRM"
    proc = run_xtal(
        tmp_path,
        "simulate",
        "Na2S",
        "--instrument",
        str(prm),
        "--range",
        "20",
        "30.5",
        "0.025",
        "--out",
        "na2s.xy",
    )
    assert proc.returncode == 0, proc.stderr
    header, data = read_xy(tmp_path / "na2s.xy")
    assert any("INST_XRY.PRM" in h for h in header)
    assert any("1.5405000" in h for h in header)  # λ1 of the .PRM, not the default
    np.testing.assert_allclose(data[:, 0], 20.0 + 0.025 * np.arange(421), atol=1e-9)
    assert not (tmp_path / "na2s.png").exists()  # no --plot, no picture


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "old.xy"
    out.write_text("# precious result\n1 2\n")
    before = out.read_bytes()
    mtime = out.stat().st_mtime_ns
    proc = run_xtal(tmp_path, "simulate", "Na2S", "--range", "20", "30", "0.05", "--out", "old.xy")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "old.xy" in lines[0] and "--force" in lines[0]
    assert out.read_bytes() == before and out.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.xy"]


def test_existing_plot_blocks_every_output(tmp_path: Path) -> None:
    (tmp_path / "old.png").write_bytes(b"not mine to replace")
    proc = run_xtal(
        tmp_path,
        "simulate",
        "Na2S",
        "--range",
        "20",
        "30",
        "0.05",
        "--out",
        "new.xy",
        "--plot",
        "old.png",
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "old.png" in proc.stderr
    assert not (tmp_path / "new.xy").exists()  # checked before anything is written
    assert (tmp_path / "old.png").read_bytes() == b"not mine to replace"


def test_force_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "old.xy"
    out.write_text("# precious result\n1 2\n")
    proc = run_xtal(
        tmp_path, "simulate", "Na2S", "--range", "20", "30", "0.05", "--out", "old.xy", "--force"
    )
    assert proc.returncode == 0, proc.stderr
    _, data = read_xy(out)
    assert data.shape == (201, 2)
