"""Sparse matrices whose columns are runs of rows, multiplied by scipy's compiled kernels.

A peak profile drawn on a pattern is one column: its values on the contiguous run of
points its window covers.  :class:`WindowMatrix` holds such columns in compressed
sparse column (CSC) arrays, the layout of ``scipy.sparse.csc_matrix`` (``indptr``,
``indices``, ``data``; Saad, *Iterative Methods for Sparse Linear Systems*, 2nd ed.,
2003, §3.4), and multiplies with scipy's own compiled CSC kernels (``csc_matvec``,
``csc_matvecs``; the transpose product is ``csr_matvec`` on the same arrays).

Why not ``scipy.sparse`` itself: importing that package runs scipy's array-API layer,
which copies numpy's whole namespace and so imports numpy.f2py, numpy.random,
numpy.polynomial, numpy.ma and numpy.testing: about 0.14 s at every start, some 8 %
of a whole ``xtal refine`` process, for three products.  The kernels are loaded from
their compiled module (``scipy/sparse/_sparsetools``) without the package around
them, checked once against a dense product, and used through the calling convention
``scipy.sparse`` itself uses for them.  Should any of that fail (another scipy
layout, a changed signature), the products go through the public
``scipy.sparse.csc_matrix`` instead: the same numbers, only the import is paid.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

_MODULE = "scipy.sparse._sparsetools"
_kernels: ModuleType | None | bool = None  # None: not looked for yet; False: use the fallback


def _load_kernels() -> ModuleType | None:
    """scipy's compiled sparse kernels, loaded without importing ``scipy.sparse``; None if
    they cannot be loaded or do not give a dense product's answer."""
    module = sys.modules.get(_MODULE)  # scipy.sparse already imported: its own copy
    if module is None:
        try:
            spec = importlib.util.find_spec("scipy")  # finds, does not import, scipy
            if spec is None or spec.origin is None:
                return None
            folder = Path(spec.origin).parent / "sparse"
            files = [folder / f"_sparsetools{s}" for s in importlib.machinery.EXTENSION_SUFFIXES]
            found = next((f for f in files if f.is_file()), None)
            if found is None:
                return None
            loader = importlib.machinery.ExtensionFileLoader(_MODULE, str(found))
            mspec = importlib.util.spec_from_file_location(_MODULE, found, loader=loader)
            if mspec is None:
                return None
            module = importlib.util.module_from_spec(mspec)
            loader.exec_module(module)
        except Exception:  # any failure: the public scipy.sparse path
            return None
    return module if _agrees(module) else None


def _agrees(module: ModuleType) -> bool:
    """The kernels give a dense product's answer on a small matrix (both products)."""
    dense = np.array([[1.0, 0.0, 0.0], [2.0, 4.0, 0.0], [0.0, 5.0, 6.0], [0.0, 0.0, 7.0]])
    m = WindowMatrix.from_dense_runs(dense)
    v, r = np.array([1.0, -2.0, 3.0]), np.array([1.0, 2.0, 3.0, 4.0])
    vv = np.array([[1.0, 0.5], [-2.0, 1.5], [3.0, -1.0]])
    try:
        return bool(
            np.allclose(_product(module, m, v), dense @ v, rtol=0, atol=1e-12)
            and np.allclose(_product(module, m, vv), dense @ vv, rtol=0, atol=1e-12)
            and np.allclose(_transposed(module, m, r), dense.T @ r, rtol=0, atol=1e-12)
        )
    except Exception:
        return False


def _product(module: ModuleType, m: WindowMatrix, v: np.ndarray) -> np.ndarray:
    # the argument order of scipy.sparse's own calls (_compressed._matmul_vector/_multivector);
    # the kernels take the vectors in the matrix's own precision
    rows, cols = m.shape
    v = np.ascontiguousarray(v, m.data.dtype)
    if v.ndim == 1:
        out = np.zeros(rows, m.data.dtype)
        module.csc_matvec(rows, cols, m.indptr, m.indices, m.data, v, out)
        return out
    out = np.zeros((rows, v.shape[1]), m.data.dtype)
    module.csc_matvecs(rows, cols, v.shape[1], m.indptr, m.indices, m.data, v.ravel(), out.ravel())
    return out


def _transposed(module: ModuleType, m: WindowMatrix, r: np.ndarray) -> np.ndarray:
    # the CSC arrays of M are the CSR arrays of Mᵀ
    rows, cols = m.shape
    r = np.ascontiguousarray(r, m.data.dtype)
    out = np.zeros(cols, m.data.dtype)
    module.csr_matvec(cols, rows, m.indptr, m.indices, m.data, r, out)
    return out


def kernels() -> ModuleType | None:
    """The loaded kernels, or None when products go through ``scipy.sparse`` (looked up once)."""
    global _kernels
    if _kernels is None:
        _kernels = _load_kernels() or False
    return _kernels or None


@dataclass(frozen=True)
class WindowMatrix:
    """A (rows × columns) matrix in CSC arrays, every column one contiguous run of rows.

    ``indptr`` (columns + 1) and ``indices`` are int64, ``data`` float64 or float32
    (products are then in single precision), as ``scipy.sparse.csc_matrix`` holds them;
    the constructor does not check them (the caller builds them:
    :func:`xtal.diffraction.profile.render_peaks`).
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def empty(cls, rows: int, cols: int) -> WindowMatrix:
        """A matrix of ``cols`` empty columns."""
        return cls(np.zeros(0), np.zeros(0, np.int64), np.zeros(cols + 1, np.int64), (rows, cols))

    @classmethod
    def from_dense_runs(cls, dense: np.ndarray) -> WindowMatrix:
        """The non-zero run of each column of ``dense`` (zeros inside a run are kept)."""
        data, indices, indptr = [], [], [0]
        for col in dense.T:
            nz = np.flatnonzero(col)
            rows = np.arange(nz[0], nz[-1] + 1) if nz.size else np.zeros(0, np.int64)
            data.append(col[rows])
            indices.append(rows)
            indptr.append(indptr[-1] + rows.size)
        return cls(
            np.concatenate(data).astype(float),
            np.concatenate(indices).astype(np.int64),
            np.asarray(indptr, np.int64),
            (dense.shape[0], dense.shape[1]),
        )

    @property
    def nnz(self) -> int:
        """Stored values."""
        return int(self.data.size)

    def with_data(self, data: np.ndarray) -> WindowMatrix:
        """The same pattern of stored values with other values (e.g. a derivative)."""
        return WindowMatrix(data, self.indices, self.indptr, self.shape)

    def dot(self, v: np.ndarray) -> np.ndarray:
        """``M @ v`` for a vector (columns) or a (columns × k) array (in the precision of
        the matrix's values)."""
        module = kernels()
        if module is None:
            return self.to_scipy() @ np.asarray(v, self.data.dtype)
        return _product(module, self, v)

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        return self.dot(v)

    def rdot(self, r: np.ndarray) -> np.ndarray:
        """``Mᵀ @ r`` for a vector ``r`` of rows (in the precision of the matrix's values)."""
        module = kernels()
        if module is None:
            return self.to_scipy().T @ np.asarray(r, self.data.dtype)
        return _transposed(module, self, r)

    def to_scipy(self) -> Any:
        """The same matrix as a ``scipy.sparse.csc_matrix``."""
        from scipy import sparse

        return sparse.csc_matrix((self.data, self.indices, self.indptr), shape=self.shape)

    def toarray(self) -> np.ndarray:
        """The dense matrix."""
        out = np.zeros(self.shape)
        cols = np.repeat(np.arange(self.shape[1]), np.diff(self.indptr))
        out[self.indices, cols] = self.data
        return out
