"""Fixed background points: (2θ, intensity) pairs interpolated linearly.

Text with two numeric columns; lines starting with ``!`` or ``#`` are comments
(FullProf writes ``.BGR`` files this way).  Between points the background is
linear (FullProf's "linear interpolation between a set of background points");
beyond the first and last point it is held at their values.  Text is decoded as the
pattern files are (UTF-8 with or without BOM, UTF-16, else Latin-1); 2θ must lie in
(0°, 180°) and every value be a finite decimal number; files over 16 MiB are refused.
"""

from __future__ import annotations

import os

import numpy as np

from xtal.errors import InputError


def read_background_points(path: str | os.PathLike[str]) -> np.ndarray:
    """Points (n, 2) sorted by 2θ."""
    from xtal.io.formats._common import NUMBER, FormatError, decode_text

    rows = []
    try:
        if os.path.getsize(path) > 16 * 2**20:
            raise InputError("file too large for background points (over 16 MiB)", path)
        text = decode_text(open(path, "rb").read())  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"cannot read background points: {exc.strerror}", path) from None
    except FormatError as exc:
        raise InputError(f"cannot read background points: {exc}", path) from None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "!#":
            continue
        fields = line.replace(",", " ").split()[:2]
        if len(fields) < 2 or not all(len(f) <= 40 and NUMBER.fullmatch(f) for f in fields):
            raise InputError(f"line {number} is not '2θ intensity': {line[:40]!r}", path)
        rows.append((float(fields[0]), float(fields[1])))
    if len(rows) < 2:
        raise InputError("fewer than two background points", path)
    pts = np.array(rows)
    if not np.all(np.isfinite(pts)):
        raise InputError("background points contain numbers beyond the floating-point range",
                         path)
    if np.any((pts[:, 0] <= 0) | (pts[:, 0] >= 180)):
        raise InputError("a background point's 2θ is outside (0°, 180°)", path)
    return pts[np.argsort(pts[:, 0])]


def interpolate_points(points: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Linear interpolation of the points at ``x`` (held flat beyond the ends)."""
    pts = np.asarray(points, float)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2:
        raise InputError("background points must be at least two (2θ, intensity) pairs")
    order = np.argsort(pts[:, 0])
    return np.interp(x, pts[order, 0], pts[order, 1])
