"""Fixed background points: (2θ, intensity) pairs interpolated linearly.

Text with two numeric columns; lines starting with ``!`` or ``#`` are comments
(FullProf writes ``.BGR`` files this way).  Between points the background is
linear (FullProf's "linear interpolation between a set of background points");
beyond the first and last point it is held at their values.
"""

from __future__ import annotations

import os

import numpy as np

from xtal.errors import InputError


def read_background_points(path: str | os.PathLike[str]) -> np.ndarray:
    """Points (n, 2) sorted by 2θ."""
    rows = []
    try:
        text = open(path, encoding="latin-1").read()  # noqa: SIM115 - FullProf writes latin-1
    except OSError as exc:
        raise InputError(f"cannot read background points: {exc.strerror}", path) from None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "!#":
            continue
        fields = line.replace(",", " ").split()
        try:
            rows.append((float(fields[0]), float(fields[1])))
        except (ValueError, IndexError):
            raise InputError(f"line {number} is not '2θ intensity': {line[:40]!r}", path) from None
    if len(rows) < 2:
        raise InputError("fewer than two background points", path)
    pts = np.array(rows)
    if not np.all(np.isfinite(pts)):
        raise InputError("background points contain NaN or infinite values", path)
    return pts[np.argsort(pts[:, 0])]


def interpolate_points(points: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Linear interpolation of the points at ``x`` (held flat beyond the ends)."""
    pts = np.asarray(points, float)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2:
        raise InputError("background points must be at least two (2θ, intensity) pairs")
    order = np.argsort(pts[:, 0])
    return np.interp(x, pts[order, 0], pts[order, 1])
