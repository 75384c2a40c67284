"""glibc malloc thresholds of a refining process (xtal.util.memory).

Checked where it matters, in the C library's own accounting: ``mallinfo2().hblkhd`` is
the number of bytes glibc holds in mmapped blocks.  A 16 MB numpy array is mapped
afresh under glibc's defaults and taken from the heap once the thresholds are raised.
Each case runs in a fresh interpreter, whose malloc settings nobody has touched.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

SCRIPT = r"""
import ctypes, sys
import numpy as np

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "set":
    from xtal.util.memory import keep_freed_memory
    assert keep_freed_memory() and keep_freed_memory()
before = libc.mallinfo2().hblkhd
a = np.ones(2_000_000)  # 16 MB
print(libc.mallinfo2().hblkhd - before)
"""


def _glibc_with_mallinfo2() -> bool:
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _glibc_with_mallinfo2(),
                    reason="glibc ≥ 2.33 only (mallopt, mallinfo2)")
def test_large_arrays_come_from_the_heap_once_set():
    def mapped(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True,
                             text=True, check=True)
        return int(out.stdout.strip())

    assert mapped("default") >= 16_000_000  # glibc's default: mapped afresh
    assert mapped("set") == 0


def test_the_refine_job_sets_it(monkeypatch, tmp_path):
    import xtal.util.memory as memory
    from xtal.app.refine_job import RefineRequest, run_refinement
    from xtal.errors import InputError

    calls = []
    monkeypatch.setattr(memory, "keep_freed_memory", lambda: calls.append(1) or True)
    req = RefineRequest(tmp_path / "missing.xy", ("Na2S",), tmp_path / "out")
    with pytest.raises(InputError):
        run_refinement(req, "xtal refine")
    assert calls == [1]
