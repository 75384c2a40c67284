"""Small array helpers."""

from __future__ import annotations

import numpy as np


def unique(values: np.ndarray, axis: int | None = None) -> np.ndarray:
    """``np.unique(values, axis=axis)``: the sorted distinct values (or rows).

    Asked for the first indices as well, numpy takes its sorting path; asked for the
    values alone, numpy ≥ 2 first checks for a masked array, which imports numpy.ma
    (16 ms of every ``xtal`` start, for the first call).  Same answer either way.
    """
    return np.unique(values, axis=axis, return_index=True)[0]
