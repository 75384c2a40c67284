"""Writing patterns as text: ``.xy`` (2θ, I) and ``.xye`` (2θ, I, σ).

Both are plain whitespace-separated columns with a ``#`` comment header, the
layout GSAS-II's "xye" importer and most other programs read.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.util.files import atomic_write, check_writable


def format_xy(pattern: Pattern, header: list[str] | None = None, esd: bool = False) -> str:
    """Text of a two-column (or, with ``esd``, three-column) pattern file."""
    buf = io.StringIO()
    lines = list(header or [])
    if pattern.wavelength:
        lam = f"lambda1 = {pattern.wavelength:.7f} A"
        if pattern.wavelength2:
            lam += f", lambda2 = {pattern.wavelength2:.7f} A, I2/I1 = {pattern.ratio}"
        lines.append(lam)
    lines.append("2theta(deg)  intensity" + ("  esd" if esd else ""))
    for line in lines:
        buf.write(f"# {line}\n")
    # weight-0 points (σ = inf) are written with esd 0, GSAS-II's mark for them
    cols = [pattern.x, pattern.y] + ([np.where(np.isfinite(e := pattern.esd()), e, 0.0)]
                                     if esd else [])
    np.savetxt(buf, np.column_stack(cols), fmt=["%.5f"] + ["%.6g"] * (len(cols) - 1))
    return buf.getvalue()


def write_xy(
    pattern: Pattern,
    path: str | os.PathLike[str],
    header: list[str] | None = None,
    force: bool = False,
    esd: bool | None = None,
) -> Path:
    """Write ``pattern`` to ``path`` atomically; ``.xye`` (or ``esd=True``) adds σ."""
    p = check_writable(path, force)
    with_esd = p.suffix.lower() == ".xye" if esd is None else esd
    return atomic_write(p, format_xy(pattern, header, with_esd))
