"""util.arrays.unique gives np.unique's answer (the reference)."""

from __future__ import annotations

import numpy as np
import pytest

from xtal.util.arrays import unique


@pytest.mark.parametrize(
    "values,axis",
    [
        (np.array([3, 1, 2, 3, 1, 0, -4]), None),
        (np.array([2.5, np.nan, 1.0, np.nan, 2.5]), None),
        (np.array([], dtype=int), None),
        (np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [-1, 0, 2]]), 0),
    ],
)
def test_same_as_numpy(values: np.ndarray, axis: int | None) -> None:
    np.testing.assert_array_equal(unique(values, axis=axis), np.unique(values, axis=axis))
