"""``make demo``: the bundled example refined and compared with the truth it was made from.

The truth of the glass comes from ``truth.json`` alone (GSAS-II's background peak and
Chebyshev coefficients).  Checked independently of any refinement: where no reflection
lies, the observed counts minus that true background average to zero within their
Poisson noise, so the true background (and with it the true Bragg area and crystallinity
the demo prints) is read as GSAS-II drew it (a halo area 0.7 % off moves that mean by
4σ).  Then the refined halo area and crystallinity must agree with the truth within 3
esd, and the demo must say why the native cells miss the truth (GSAS-II's own FCJ
quadrature) and, with GSAS-II installed, that GSAS-II's values reproduce it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xtal.demo import EXAMPLE, amorphous_rows, true_crystallinity, true_halo
from xtal.diffraction.background import chebyshev_basis
from xtal.refine.gsas2 import gsas2_available
from xtal.refine.result import Result


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((EXAMPLE / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """``python -m xtal.demo DIR`` as ``make demo`` runs it (once for the module)."""
    out = tmp_path_factory.mktemp("demo")
    proc = subprocess.run([sys.executable, "-m", "xtal.demo", str(out)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return " ".join(proc.stdout.split()), out  # rich wraps long lines at spaces


def test_true_background_is_what_gsas2_drew(demo, truth: dict) -> None:
    result = Result.load(demo[1] / "refinement")
    x, yo = result.curves.x, result.curves.observed
    bg = truth["background"]
    cheb = chebyshev_basis(x, 3, 10.0, 80.0) @ np.asarray(bg["chebyshev_first_kind_coefficients"])
    residual = yo - cheb - true_halo(truth).evaluate(x)
    free = np.ones(x.size, bool)  # 1.5° from every reflection of either phase: their tails
    for pr in result.phases.values():  # at 0.6° still add ~3σ to the mean
        for t in pr.reflections["two_theta"]:
            free &= np.abs(x - t) > 1.5
    assert free.sum() > 1000
    # Poisson: the mean of n residuals has σ = sqrt(mean(yo) / n)
    sigma_mean = np.sqrt(np.mean(yo[free]) / free.sum())
    assert abs(np.mean(residual[free])) < 3 * sigma_mean
    assert true_halo(truth).area == pytest.approx(15000.0)  # 1.5e6 per centidegree
    doc, bragg, glass = true_crystallinity(result, truth)
    assert glass == pytest.approx(15000.0, rel=1e-3)  # the halo lies inside 10–80°
    assert doc == pytest.approx(bragg / (bragg + glass))


def test_refined_glass_agrees_with_the_truth(demo, truth: dict) -> None:
    result = Result.load(demo[1] / "refinement")
    rows = amorphous_rows(result, truth)
    assert [r[0] for r in rows] == ["halo area (counts × °)",
                                    "degree of crystallinity from areas (%)"]
    for label, true, value, esd in rows:
        assert abs(value - true) <= 3 * esd, (label, true, value, esd)


def test_demo_prints_the_glass_and_why_the_cells_miss(demo) -> None:
    text, out = demo
    assert "The glass (amorphous content) vs. truth" in text
    assert "halo area (counts × °) │ 15000 │" in text
    assert "Bragg = ∫(observed − true Chebyshev − true halo)" in text
    assert "Not a bug: GSAS-II drew this pattern with its own FCJ axial-divergence" in text
    assert (out / "refinement" / "report.md").is_file()
    if gsas2_available():
        assert "its values reproduce the truth" in text
        assert (out / "refinement-gsas2" / "gsas2.gpx").is_file()
    else:
        assert "GSAS-II is not installed" in text
