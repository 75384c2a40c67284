"""WindowMatrix products against scipy.sparse's public csc_matrix (the reference)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import sparse

from xtal.util import window_matrix as wm
from xtal.util.window_matrix import WindowMatrix


def _random_windows(rng: np.random.Generator, rows: int = 300, cols: int = 40) -> WindowMatrix:
    data, indices, indptr = [], [], [0]
    for _ in range(cols):
        lo = int(rng.integers(0, rows))
        n = int(rng.integers(0, 60))  # empty columns and columns cut at the last row too
        r = np.arange(lo, min(lo + n, rows))
        data.append(rng.normal(size=r.size))
        indices.append(r)
        indptr.append(indptr[-1] + r.size)
    return WindowMatrix(np.concatenate(data), np.concatenate(indices).astype(np.int64),
                        np.asarray(indptr, np.int64), (rows, cols))


@pytest.mark.parametrize("fallback", [False, True])
def test_products_equal_scipy_sparse(fallback: bool, monkeypatch) -> None:
    if fallback:  # the public scipy.sparse path, as when the kernels cannot be loaded
        monkeypatch.setattr(wm, "_kernels", False)
    else:
        assert wm.kernels() is not None  # the compiled kernels load on this machine
    rng = np.random.default_rng(7)
    m = _random_windows(rng)
    ref = sparse.csc_matrix((m.data, m.indices, m.indptr), shape=m.shape)
    v = rng.normal(size=m.shape[1])
    vv = rng.normal(size=(m.shape[1], 5))
    r = rng.normal(size=m.shape[0])
    np.testing.assert_allclose(m @ v, ref @ v, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(m.dot(vv), ref @ vv, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(m.dot(vv[:, 2:4]), ref @ vv[:, 2:4], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(m.rdot(r), ref.T @ r, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(m.toarray(), ref.toarray())
    assert (m.to_scipy() != ref).nnz == 0


def test_dense_runs_and_empty() -> None:
    dense = np.array([[1.0, 0.0], [0.0, 0.0], [3.0, 0.0]])
    m = WindowMatrix.from_dense_runs(dense)
    np.testing.assert_array_equal(m.toarray(), dense)  # the zero inside the run is kept
    assert m.nnz == 3
    e = WindowMatrix.empty(4, 3)
    np.testing.assert_array_equal(e @ np.ones(3), np.zeros(4))
    np.testing.assert_array_equal(e.rdot(np.ones(4)), np.zeros(3))


def test_kernels_that_disagree_are_not_used() -> None:
    class Wrong:  # a module whose kernels answer wrongly (another calling convention)
        @staticmethod
        def csc_matvec(*args):
            args[-1][:] = 1.0

        csc_matvecs = csr_matvec = csc_matvec

    assert not wm._agrees(Wrong())  # type: ignore[arg-type]


def test_refinement_imports_no_scipy_package() -> None:
    """Rendering with derivatives and every product leaves scipy.sparse unimported."""
    code = (
        "import sys, numpy as np\n"
        "from xtal.diffraction.peaks import PeakList\n"
        "from xtal.diffraction.profile import render_peaks\n"
        "pk = PeakList(pos=np.array([30.0, 31.0]), area=np.array([1.0, 2.0]),"
        " fwhm_g=np.array([0.1, 0.1]), fwhm_l=np.array([0.05, 0.05]), ref=np.array([0, 1]),"
        " line=np.array([0, 0]), sh_l=0.02)\n"
        "y, prof = render_peaks(np.linspace(25, 35, 501), pk, derivatives=True)\n"
        "prof.apply(np.ones((2, 3)), 'd_pos'); prof.peak_sums(y)\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['scipy.sparse._sparsetools']", out.stdout + out.stderr


def test_single_precision_products_match_double_to_its_rounding() -> None:
    """Values in float32 (as render_peaks stores profiles): products in float32, equal to
    the double-precision scipy product to float32's rounding over the window sums."""
    rng = np.random.default_rng(11)
    m64 = _random_windows(rng)
    m = m64.with_data(m64.data.astype(np.float32))
    ref = sparse.csc_matrix((m.data.astype(float), m.indices, m.indptr), shape=m.shape)
    vv = rng.normal(size=(m.shape[1], 4))
    r = rng.normal(size=m.shape[0])
    got, got_t = m.dot(vv), m.rdot(r)
    assert got.dtype == np.float32 and got_t.dtype == np.float32
    scale = np.abs(ref).max() * np.abs(vv).max() * 60  # ≤ 60 terms a sum
    np.testing.assert_allclose(got, ref @ vv, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(got_t, ref.T @ r, rtol=0, atol=1e-6 * scale)
