"""Benchmark: pattern readers on large files — time and peak memory, linear growth.

Run with ``.venv/bin/python bench/readers.py``.  Not a test: it prints figures, it
asserts nothing (issue 12, item 4: "reading is linear in the file size; memory stays
within a small multiple of the data; a 2-million-point pattern reads in ≤ 2 s").

Cases, each written into a temporary directory and read in a fresh subprocess (so
that the peak resident memory, ``VmHWM`` of /proc/self/status, is the reader's own):

* two-column ``.xy``, three-column ``.xye``, GSAS FXYE and XRDML with 2·10⁶ points,
  BRML with 10⁶, and the ``.xy`` with 0.5·10⁶ and 1·10⁶ points (linear in size?);
* the pathological inputs the fuzzer found: an ``.xy`` header "lambda" followed by
  200 000 spaces (247 s before), and a 0.4 MB ``.brml`` zip whose member inflates to
  1 GB (1.2 GB of memory before).

Baseline measured in the same run: ``numpy.loadtxt`` of the 2·10⁶-point ``.xy``
(numpy's C reader, no checks; CPU time, since wall time on a shared machine varies by
2× between runs), and the memory of a bare interpreter that imports xtal.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

PROBE = """
import json, sys, time
import warnings; warnings.simplefilter("ignore")
import numpy
from xtal.errors import InputError
from xtal.io.patterns import read_pattern
import xtal.io.formats.text, xtal.io.formats.gsas, xtal.io.formats.xrdml, xtal.io.formats.brml
t0, c0 = time.perf_counter(), time.process_time()
{body}
dt, cpu = time.perf_counter() - t0, time.process_time() - c0
# VmHWM: this process's peak resident memory (ru_maxrss would include the parent's)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({{"s": dt, "cpu": cpu, "rss_mb": hwm / 1024, "out": out}}))
"""
READ = """
try:
    p = read_pattern(sys.argv[1]); out = int(sum(q.x.size for q in p))
except InputError as err:
    out = str(err)[-90:]
"""
IMPORT_ONLY = "out = 0"
LOADTXT = "out = int(numpy.loadtxt(sys.argv[1]).shape[0])"


def probe(body: str, path: Path | None = None) -> dict:
    args = [sys.executable, "-c", PROBE.format(body=body)] + ([str(path)] if path else [])
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def pattern(n: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(5.0, 120.0, n)
    rng = np.random.default_rng(12)
    y = rng.poisson(200 + 5000 * np.exp(-(((x - 40) / 0.05) ** 2)))
    return x, y


def write_xy(path: Path, n: int, esd: bool = False) -> Path:
    x, y = pattern(n)
    cols = [x, y, np.sqrt(np.maximum(y, 1))] if esd else [x, y]
    np.savetxt(path, np.column_stack(cols), fmt=["%.5f", "%d"] + (["%.3f"] if esd else []))
    return path


def write_fxye(path: Path, n: int) -> Path:
    x, y = pattern(n)
    buf = io.StringIO()
    buf.write(f"bench FXYE\nBANK 1 {n} {n} CONST {x[0] * 100:.4f} "
              f"{(x[1] - x[0]) * 100:.6f} 0 0 FXYE\n")
    np.savetxt(buf, np.column_stack([x * 100, y, np.sqrt(np.maximum(y, 1))]),
               fmt=["%.4f", "%d", "%.3f"])
    path.write_text(buf.getvalue())
    return path


def write_xrdml(path: Path, n: int) -> Path:
    x, y = pattern(n)
    counts = " ".join(map(str, y.tolist()))
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><xrdMeasurements xmlns="http://www.xrdml.com/'
        'XRDMeasurement/1.5"><xrdMeasurement><usedWavelength><kAlpha1>1.5406</kAlpha1>'
        "<kAlpha2>1.5444</kAlpha2><ratioKAlpha2KAlpha1>0.5</ratioKAlpha2KAlpha1>"
        '</usedWavelength><scan><dataPoints><positions axis="2Theta" unit="deg">'
        f"<startPosition>{x[0]}</startPosition><endPosition>{x[-1]}</endPosition></positions>"
        f'<commonCountingTime>1</commonCountingTime><counts unit="counts">{counts}</counts>'
        "</dataPoints></scan></xrdMeasurement></xrdMeasurements>")
    return path


def write_brml(path: Path, n: int) -> Path:
    x, y = pattern(n)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("Experiment0/RawData0.xml", "w", force_zip64=True) as fh:
            fh.write(b'<RawData><WaveLengthAlpha1 Value="1.5406"/><DataRoutes><DataRoute>')
            for k in range(0, n, 10_000):
                fh.write("".join(f"<Datum>1,1,{a:.5f},{a / 2:.5f},{c}</Datum>"
                                 for a, c in zip(x[k:k + 10_000], y[k:k + 10_000],
                                                 strict=True)).encode())
            fh.write(b"</DataRoute></DataRoutes></RawData>")
    return path


def write_bomb(path: Path) -> Path:
    chunk = b"<Datum>1,1,20.0,10.0,5</Datum>" * 2**15
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("Experiment0/RawData0.xml", "w", force_zip64=True) as fh:
            fh.write(b"<RawData><DataRoutes><DataRoute>")
            for _ in range(2**30 // len(chunk)):
                fh.write(chunk)
            fh.write(b"</DataRoute></DataRoutes></RawData>")
    return path


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="xtal-bench-readers-"))
    try:
        run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp: Path) -> None:
    base = probe(IMPORT_ONLY)
    print(f"baseline: interpreter + xtal readers imported: {base['rss_mb']:.0f} MB peak RSS")
    lt = probe(LOADTXT, write_xy(tmp / "p2000000.xy", 2_000_000))
    print(f"baseline: numpy.loadtxt of a 2e6-point .xy: {lt['s']:.2f} s wall, {lt['cpu']:.2f} s "
          f"CPU, {lt['rss_mb']:.0f} MB peak")
    print(f"{'case':34s} {'points':>9s} {'MB':>6s} {'wall s':>7s} {'CPU s':>6s} "
          f"{'/loadtxt':>8s} {'peak MB':>8s} {'(peak-base)/file':>16s}  note")
    rows = []
    for n in (500_000, 1_000_000, 2_000_000):
        rows.append((f"xy, {n} points", write_xy(tmp / f"p{n}.xy", n), ""))
    rows += [("xye (esd column)", write_xy(tmp / "p.xye", 2_000_000, esd=True), ""),
             ("GSAS FXYE", write_fxye(tmp / "p.fxye", 2_000_000), ""),
             ("PANalytical XRDML", write_xrdml(tmp / "p.xrdml", 2_000_000), ""),
             ("Bruker BRML (zip of XML)", write_brml(tmp / "p.brml", 1_000_000),
              "was 13 s before one-pass parsing")]
    header = tmp / "lambda.xy"
    header.write_text("# lambda" + " " * 200_000 + "\n10 1\n11 2\n")
    rows.append(("header 'lambda' + 200 000 spaces", header, "was 247 s"))
    rows.append(("BRML zip bomb (1 GiB inflated)", write_bomb(tmp / "bomb.brml"),
                 "was 1.2 GB"))
    for name, path, note in rows:
        r = probe(READ, path)
        size = path.stat().st_size / 2**20
        extra = (r["rss_mb"] - base["rss_mb"]) / size
        out = r["out"] if isinstance(r["out"], int) else "refused: …" + r["out"][-60:]
        print(f"{name:34s} {out if isinstance(out, int) else '':>9} {size:6.1f} {r['s']:7.2f} "
              f"{r['cpu']:6.2f} {r['cpu'] / lt['cpu']:8.2f} {r['rss_mb']:8.0f} {extra:16.1f}  "
              f"{note} {'' if isinstance(out, int) else out}")


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"(bench took {time.perf_counter() - t:.0f} s)")
