"""glibc malloc settings for a process that refines.

A refinement allocates and frees the same large numpy temporaries every cycle (peak
windows of a few hundred thousand points, Jacobian blocks: megabytes each).  By default
glibc serves blocks above its mmap threshold (128 KiB, raised dynamically only up to
32 MiB and only after such a block is freed) with fresh ``mmap`` calls and returns freed
heap above its trim threshold to the system, so every cycle page-faults its arrays in
anew.  Raising both thresholds (``mallopt(3)``: ``M_MMAP_THRESHOLD``, ``M_TRIM_THRESHOLD``)
keeps freed blocks in the heap for the next cycle.  Measured on the 2-core machine of
this project, PbSO4 ``standard``: the first fit of a process 1.35 → 0.96 s, the next
1.16 → 0.77 s; the whole ``xtal refine`` process 2.8 → 2.6 s (medians of 4,
alternating); peak RSS 172 → 175 MB.

xtal's commands (``xtal refine``, ``xtal series``, the demo) and the Dask workers that
run series fits call :func:`keep_freed_memory`; the library does not change the malloc
settings of a process it is imported into, so a notebook calls it itself if it wants
the same speed.
"""

from __future__ import annotations

import sys

#: ``mallopt`` parameter numbers (glibc ``malloc.h``)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: blocks below this are taken from the heap, not mapped afresh (bytes)
MMAP_THRESHOLD = 256 * 2**20
#: free memory at the top of the heap kept for reuse rather than returned (bytes)
TRIM_THRESHOLD = 512 * 2**20

_done = False


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process (module docstring).

    Returns whether the settings are in force: False off Linux, on a C library without
    ``mallopt`` (musl) or if glibc refuses them.  Calling it again does nothing more.
    """
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _done
