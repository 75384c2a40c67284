"""``xtal.app.pictures``: fit.png and the report's SVG drawn by a second process.

The pictures from the child must be the very bytes drawn in-process (the SVG up to
the random ids matplotlib gives its clip paths and markers); a child that fails,
answers nonsense or is never used must not change the outputs or outlive the parent.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from xtal.app import pictures
from xtal.app.pictures import PictureWorker
from xtal.io.plots import fit_pictures
from xtal.refine.result import Result


@pytest.fixture(scope="module")
def result(shared: Path) -> Result:
    from xtal.app.refine import refine

    d = shared / "real" / "pbso4_cpd_xray"
    return refine(d / "PBSO4.XRA", [d / "PbSO4-Wyckoff.cif"], d / "INST_XRY.PRM", "standard",
                  two_theta_range=(16.0, 158.4))


def same_svg(a: str, b: str) -> bool:
    """Equal but for matplotlib's random element ids and the date in the metadata
    (``report.html`` drops the metadata)."""
    a, b = (re.sub(r"<dc:date>[^<]*</dc:date>", "", x) for x in (a, b))
    ids = set(re.findall(r'id="([^"]+)"', a)) | set(re.findall(r'id="([^"]+)"', b))
    pattern = re.compile("|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)))
    return pattern.sub("ID", a) == pattern.sub("ID", b)


def test_child_draws_what_this_process_draws(result: Result) -> None:
    png_here, svg_here = fit_pictures(result)
    with PictureWorker(enabled=True) as worker:
        child = worker._proc
        assert child is not None  # a real second process
        png, svg = worker.submit(result)()
    assert child.returncode == 0
    assert png == png_here and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert svg.lstrip().startswith("<?xml") and same_svg(svg, svg_here)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_split_drawing_gives_the_same_pictures(result: Result) -> None:
    # PNG here and SVG in a forked copy: the same as drawing both in one process
    png_here, svg_here = fit_pictures(result)
    png, svg = pictures.split_pictures(result)
    assert png == png_here
    assert same_svg(svg, svg_here) and svg.rstrip().endswith("</svg>")


def test_warm_up_changes_nothing_drawn(result: Result) -> None:
    # the child draws a throw-away figure while it waits: the real one must not change
    png_before, svg_before = fit_pictures(result)
    pictures._warm_up()
    png, svg = fit_pictures(result)
    assert png == png_before and same_svg(svg, svg_before)


@pytest.mark.parametrize("child", [
    "import sys; sys.exit(3)",                      # fails
    "import sys; sys.stdin.buffer.read(); print('not a pickle')",  # answers nonsense
])
def test_a_failing_child_means_drawing_here(result: Result, child: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    real_popen = subprocess.Popen

    def popen(args, **kwargs):
        return real_popen([sys.executable, "-c", child], **kwargs)

    monkeypatch.setattr(pictures.subprocess, "Popen", popen)
    with PictureWorker(enabled=True) as worker:
        png, svg = worker.submit(result)()
    png_here, svg_here = fit_pictures(result)
    assert png == png_here and same_svg(svg, svg_here)


def test_an_unused_child_is_ended() -> None:
    with PictureWorker(enabled=True) as worker:
        child = worker._proc
        assert child is not None and child.poll() is None
    assert child.poll() is not None  # killed on leaving, without waiting for its imports


def test_disabled_worker_draws_here(result: Result) -> None:
    with PictureWorker(enabled=False) as worker:
        assert worker._proc is None
        png, _ = worker.submit(result)()
    assert png == fit_pictures(result)[0]


def test_when_a_second_process_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pictures.ENV, raising=False)
    monkeypatch.setattr(pictures.os, "sched_getaffinity", lambda pid: {0, 1})
    assert pictures.worker_wanted()
    monkeypatch.setattr(pictures.os, "getloadavg", lambda: (3.9, 3.0, 2.0))
    assert pictures.worker_wanted()  # a lagging load average does not decide
    monkeypatch.setattr(pictures.os, "sched_getaffinity", lambda pid: {0})  # one CPU only
    assert not pictures.worker_wanted()
    monkeypatch.setenv(pictures.ENV, "1")  # the environment decides
    assert pictures.worker_wanted()
    monkeypatch.setenv(pictures.ENV, "0")
    monkeypatch.setattr(pictures.os, "sched_getaffinity", lambda pid: {0, 1})
    assert not pictures.worker_wanted()
    with PictureWorker() as worker:
        assert worker._proc is None
