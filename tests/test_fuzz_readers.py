"""Every reader under the shared mutation fuzzer: no crash, no hang, no bad data.

Runs ``../shared/tools/fuzz_readers.py`` (its docstring explains the mutations and
the classes) on the real files in ``../shared/data`` and its built-in seeds of the
formats without real samples, with a fixed seed and a few hundred mutants per format
(about 20 s on two workers).  Every mutant runs in a worker process under a watchdog,
so a segmentation fault or a hang is reported, not suffered.  The 20 000-per-format
run of issue 12 is the same command with ``--per-format 20000``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
FUZZER = SHARED / "tools" / "fuzz_readers.py"
PER_FORMAT = 150
SEED = 20260611
FORMATS = {"gsas", "columns", "xrdml", "brml", "bruker_raw", "ras", "rasx", "cif", "instprm",
           "prm"}


def test_readers_survive_the_fuzzer(tmp_path: Path) -> None:
    data = SHARED / "data"
    cmd = [sys.executable, str(FUZZER), "--builtin", "--per-format", str(PER_FORMAT),
           "--seed", str(SEED), "--workers", "2", "--timeout", "10", "--progress", "0",
           "--out", str(tmp_path), str(data / "real"), str(data / "structures"),
           str(data / "synthetic")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    groups = Counter(r["group"] for r in rows)
    assert set(groups) == FORMATS and all(n == PER_FORMAT for n in groups.values()), groups
    bad = [f"{r['group']} {r['cls']}: {r.get('msg', '')[:150]} ({r.get('ops', '')[:80]})"
           for r in rows if r["cls"] in ("CRASH", "HANG", "BAD-DATA")]
    assert not bad, "\n".join(bad[:20])
    badmsg = [f"{r['group']} {r['badmsg']}: {r.get('msg', '')[:150]}" for r in rows
              if r.get("badmsg")]
    assert not badmsg, "\n".join(badmsg[:20])
    # the mutants exercised both outcomes: files still read, and files refused cleanly
    classes = Counter(r["cls"] for r in rows)
    assert classes["ok"] > 0.1 * len(rows) and classes["clean"] > 0.3 * len(rows), classes
