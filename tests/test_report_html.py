"""``report.html``: self-contained, drawn by a real browser, no network.

The result directory is made here: a refinement of the synthetic Na3BS3
glass-ceramic (~3 s), ``result.json`` saved with :meth:`Result.save` and the
refined CIFs with :func:`xtal.io.cif_write.write_cif`.

The browser test opens the page in headless Chromium (Debian package
``chromium``), takes a screenshot and checks that the Rietveld plot, which is the
first thing on the page, has been drawn (non-white and red "calculated" pixels
where it sits).  Network: the page must hold no external ``src``/``href``, and
Chromium's own network log (``--log-net-log``) must show no request initiated by
the page (requests Chromium makes for itself carry the initiator "not an origin";
the resolver maps every host to nothing so none of them leaves the machine).
Without Chromium the test is skipped, except under CI (``CI=true``), where
``.ci/run`` installs it and its absence is a failure.
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xtal.app.reports import write_report_html
from xtal.errors import InputError
from xtal.refine.result import Result

PHASES = ("Na3BS3-trigonal", "Na2S")
WINDOW = (1400, 2400)


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Path:
    from xtal.app.refine import refine
    from xtal.io.cif_write import write_cif
    from xtal.io.refine_output import cif_esds

    ex = shared / "synthetic" / "na3bs3_ht200_gsas2"
    result = refine(ex / "pattern.xy", list(PHASES), ex / "instrument.instprm", "na3bs3")
    d = tmp_path_factory.mktemp("result")
    result.save(d / "result.json")
    for name, pr in result.phases.items():
        write_cif(pr.phase, d / f"{name}.cif", esds=cif_esds(pr), rwp=100 * result.rwp)
    write_report_html(d)
    return d


class _Scan(html.parser.HTMLParser):
    """Tags, table ids, and every src/href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        a = dict(attrs)
        if tag == "table":
            self.tables.append(a.get("id") or "")
        for key in ("src", "href", "xlink:href", "action", "data"):
            if a.get(key):
                self.refs.append((tag, key, a[key] or ""))


def scan(path: Path) -> _Scan:
    s = _Scan()
    s.feed(path.read_text(encoding="utf-8"))
    return s


def test_files_written_and_not_overwritten(result_dir: Path, tmp_path: Path) -> None:
    assert (result_dir / "report.html").is_file()
    md = (result_dir / "report.md").read_text()
    assert "## Agreement factors" in md and "| Rwp (%) |" in md
    with pytest.raises(InputError, match="exists"):
        write_report_html(result_dir)
    # a report.md from `xtal refine` stays as it is
    d = tmp_path / "r"
    d.mkdir()
    shutil.copy(result_dir / "result.json", d)
    (d / "report.md").write_text("theirs\n")
    written = write_report_html(d)
    assert [p.name for p in written] == ["report.html"]
    assert (d / "report.md").read_text() == "theirs\n"


def test_unreadable_result(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no result.json"):
        write_report_html(tmp_path)
    (tmp_path / "result.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        write_report_html(tmp_path)


def test_content(result_dir: Path) -> None:
    page = result_dir / "report.html"
    s = scan(page)
    text = page.read_text(encoding="utf-8")
    result = Result.load(result_dir)
    expected = {"agreement", "phases", "symmetry", "rings", "bs3-units", "compare",
                "distinguishing", "parameters"}
    expected |= {f"cell-{re.sub(r'[^A-Za-z0-9_-]', '_', n)}" for n in PHASES}
    expected |= {f"sites-{re.sub(r'[^A-Za-z0-9_-]', '_', n)}" for n in PHASES}
    assert expected <= set(s.tables)
    # the Rietveld plot is the first figure, inline SVG, before any table
    assert text.index('id="rietveld-plot"') < text.index("<table")
    assert text.count("<svg") == 2
    # cell with esds in parentheses, weight fraction, R_Bragg
    from xtal.util.esd import format_esd

    a = result.phases["Na3BS3-trigonal"].cell["a"]
    assert f">{format_esd(a.value, a.esd)}<" in text and "(" in format_esd(a.value, a.esd)
    wf = result.phases["Na2S"].weight_fraction  # in per cent, saying of what
    assert f">{format_esd(100 * wf.value, 100 * wf.esd)}<" in text
    assert "wt% (of crystalline part)" in text
    assert f"{100 * result.phases['Na2S'].r_bragg:.2f}" in text
    # symmetry: declared group and spglib's at 0.01 Å
    from xtal.analysis.symmetry import symmetry

    rep = symmetry(result.phases["Na3BS3-trigonal"].phase, (0.01,))
    assert f"{rep.ladder[0].symbol} ({rep.ladder[0].number})" in text
    assert "P 3 (143)" in text or "P3 (143)" in text
    # relative links to the CIFs, which exist
    links = [v for tag, key, v in s.refs if tag == "a" and key == "href"]
    for name in PHASES:
        assert f"{name}.cif" in links
        assert (result_dir / f"{name}.cif").is_file()


def test_no_external_references(result_dir: Path) -> None:
    s = scan(result_dir / "report.html")
    assert "script" not in s.tags and "iframe" not in s.tags and "img" not in s.tags
    for tag, key, value in s.refs:
        assert not re.match(r"\s*(https?:|//|ftp:|ws:)", value, re.I), (tag, key, value)
        if tag != "a":
            assert value.startswith("#"), (tag, key, value)  # SVG-internal references only
    text = (result_dir / "report.html").read_text(encoding="utf-8")
    assert "@import" not in text and not re.search(r"url\(\s*['\"]?(?!#)", text)


# -- the browser -------------------------------------------------------------------------------
def chromium_or_skip() -> str:
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                       else None)
    if exe is None:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail("chromium is missing in CI: .ci/run must install Debian's 'chromium'")
        pytest.skip("headless Chromium not installed (apt-get install chromium); "
                    "runs in CI, where .ci/run installs it")
    return exe


def run_chromium(exe: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions", f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--window-size={WINDOW[0]},{WINDOW[1]}", *extra, page.resolve().as_uri()]
    # own session: on a timeout the whole browser process group is ended, not just its launcher
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(errors="replace"),
                                       err.decode(errors="replace"))


def load_png(path: Path) -> np.ndarray:
    """RGB array (0–255) of a PNG."""
    try:
        from PIL import Image

        return np.asarray(Image.open(path).convert("RGB")).astype(int)
    except ImportError:
        import matplotlib.image

        return (matplotlib.image.imread(str(path))[..., :3] * 255).round().astype(int)


def page_requests(netlog: Path) -> list[str]:
    """URLs of every request the page (not Chromium itself) started, from a net-log file."""
    text = netlog.read_text(encoding="utf-8", errors="replace").rstrip()
    if not text.endswith("}"):  # a log cut short by the exit lacks its closing brackets
        text = text.rstrip(",") + "]}"
    log = json.loads(text)
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for ev in log["events"]:
        p = ev.get("params") or {}
        if names.get(ev["type"]) == "URL_REQUEST_START_JOB" and "url" in p:
            if p.get("initiator") != "not an origin":
                urls.append(p["url"])
    return urls


def test_chromium_draws_plot_without_network(result_dir: Path, tmp_path: Path) -> None:
    exe = chromium_or_skip()
    page = result_dir / "report.html"
    shot = tmp_path / "shot.png"
    netlog = tmp_path / "net.json"
    r = run_chromium(exe, page, tmp_path / "profile", f"--screenshot={shot}",
                     f"--log-net-log={netlog}")
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    img = load_png(shot)
    assert img.shape[:2] == (WINDOW[1], WINDOW[0])
    # the plot spans the page width (≤ 1300 px) from just below the title: rows 150–800
    region = img[150:800, 120:1250]
    nonwhite = np.any(region < 235, axis=2).mean()
    assert nonwhite > 0.02, nonwhite
    red = (region[..., 0] > 180) & (region[..., 1] < 90) & (region[..., 2] < 90)
    assert red.sum() > 300  # the calculated curve (tab:red)
    assert page_requests(netlog) == []

    dom = run_chromium(exe, page, tmp_path / "profile2", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    for needle in ("Agreement factors", 'id="symmetry"', 'id="rings"', 'id="parameters"',
                   "<svg"):
        assert needle in dom.stdout


def test_network_check_detects_requests(tmp_path: Path) -> None:
    # the net-log check is not vacuous: a page with external references is caught
    exe = chromium_or_skip()
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img src="http://example.invalid/x.png">'
                   '<link rel="stylesheet" href="https://example.invalid/a.css"></body></html>')
    netlog = tmp_path / "net.json"
    r = run_chromium(exe, bad, tmp_path / "profile", "--dump-dom", f"--log-net-log={netlog}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(page_requests(netlog)) == ["http://example.invalid/x.png",
                                             "https://example.invalid/a.css"]


def test_cli(result_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "r"
    d.mkdir()
    shutil.copy(result_dir / "result.json", d)
    r = subprocess.run([sys.executable, "-m", "xtal", "report-html", str(d)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (d / "report.html").is_file() and (d / "report.md").is_file()
    r = subprocess.run([sys.executable, "-m", "xtal", "report-html", str(d)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "exists" in r.stderr


def test_figure_ids_unique_and_references_resolve(result_dir: Path) -> None:
    """Two matplotlib SVGs on one page: every id is unique and every ``#ref`` (href,
    xlink:href, url(#…)) names an id of its own figure (analytic: the page's own graph)."""
    text = (result_dir / "report.html").read_text(encoding="utf-8")
    figures = re.findall(r"<svg\b.*?</svg>", text, flags=re.S)
    assert len(figures) == 2
    all_ids: list[str] = []
    for svg in figures:
        ids = re.findall(r'\sid="([^"]+)"', svg)
        refs = re.findall(r'href="#([^"]+)"', svg) + re.findall(r"url\(#([^)]+)\)", svg)
        assert refs and set(refs) <= set(ids)  # markers and clip paths found in the figure
        prefixes = {i.split("-", 1)[0] for i in ids}
        assert len(prefixes) == 1  # one prefix per figure
        all_ids += ids
    assert len(all_ids) == len(set(all_ids))
