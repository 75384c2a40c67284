"""Unit cell: lattice parameters, metric tensors and Cartesian frame.

Conventions
-----------
* Lengths in Å, angles in degrees.
* Direct metric tensor G_ij = a_i · a_j; reciprocal metric G* = G⁻¹, so that
  1/d² = hᵀ G* h (International Tables for Crystallography Vol. B, §1.1).
* Cartesian frame: a along x, b in the xy plane, c completing a right-handed set
  (the "a along x" orthogonalisation of IT Vol. B, §3.3.1).  Rows of
  :attr:`Cell.matrix` are the lattice vectors, so r_cart = x_frac @ matrix.
* A cell must be three-dimensional: V/(abc) = √(1 − cos²α − cos²β − cos²γ +
  2 cosα cosβ cosγ) ≥ :data:`MIN_VOLUME_FACTOR` (0.01; real cells, even the acute
  rhombohedral ones with α ≈ 24°, have 0.1 or more).  Flatter "cells" are typing
  errors or damage, and make symmetry searches (spglib) fail or hang.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from xtal.errors import InputError

#: Smallest V/(abc) of an acceptable cell (module docstring).
MIN_VOLUME_FACTOR = 0.01


@dataclass(frozen=True)
class Cell:
    """Lattice parameters a, b, c (Å) and α, β, γ (degrees)."""

    a: float
    b: float
    c: float
    alpha: float = 90.0
    beta: float = 90.0
    gamma: float = 90.0

    def __post_init__(self) -> None:
        for name in ("a", "b", "c"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise InputError(f"cell length {name} = {v:.6g} must be positive")
        for name in ("alpha", "beta", "gamma"):
            v = getattr(self, name)
            if not np.isfinite(v) or not 0 < v < 180:
                raise InputError(f"cell angle {name} = {v:.6g} must lie in (0, 180) degrees")
        ca, cb, cg = np.cos(np.radians([self.alpha, self.beta, self.gamma]))
        f2 = 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg
        if not f2 >= MIN_VOLUME_FACTOR**2:
            raise InputError(
                f"cell angles {self.alpha:.6g}, {self.beta:.6g}, {self.gamma:.6g}° do not describe "
                f"a real cell (V/abc = {np.sqrt(max(f2, 0.0)):.3g}, at least {MIN_VOLUME_FACTOR} "
                "needed)")

    @property
    def parameters(self) -> tuple[float, float, float, float, float, float]:
        """(a, b, c, α, β, γ)."""
        return (self.a, self.b, self.c, self.alpha, self.beta, self.gamma)

    @cached_property
    def metric(self) -> np.ndarray:
        """Direct metric tensor G (Å²)."""
        ca, cb, cg = np.cos(np.radians([self.alpha, self.beta, self.gamma]))
        a, b, c = self.a, self.b, self.c
        return np.array(
            [
                [a * a, a * b * cg, a * c * cb],
                [a * b * cg, b * b, b * c * ca],
                [a * c * cb, b * c * ca, c * c],
            ]
        )

    @cached_property
    def reciprocal_metric(self) -> np.ndarray:
        """Reciprocal metric tensor G* = G⁻¹ (Å⁻²)."""
        return np.linalg.inv(self.metric)

    @cached_property
    def volume(self) -> float:
        """Cell volume V = sqrt(det G) (Å³)."""
        return float(np.sqrt(np.linalg.det(self.metric)))

    @cached_property
    def matrix(self) -> np.ndarray:
        """Lattice vectors as rows in the a-along-x Cartesian frame (Å)."""
        ca, cb, cg = np.cos(np.radians([self.alpha, self.beta, self.gamma]))
        sg = np.sin(np.radians(self.gamma))
        cx = self.c * cb
        cy = self.c * (ca - cb * cg) / sg
        cz = self.volume / (self.a * self.b * sg)
        return np.array([[self.a, 0.0, 0.0], [self.b * cg, self.b * sg, 0.0], [cx, cy, cz]])

    @cached_property
    def reciprocal_parameters(self) -> tuple[float, float, float, float, float, float]:
        """(a*, b*, c*, α*, β*, γ*) in Å⁻¹ and degrees (no 2π)."""
        g = self.reciprocal_metric
        ast, bst, cst = np.sqrt(np.diag(g))
        al = np.degrees(np.arccos(g[1, 2] / (bst * cst)))
        be = np.degrees(np.arccos(g[0, 2] / (ast * cst)))
        ga = np.degrees(np.arccos(g[0, 1] / (ast * bst)))
        return (float(ast), float(bst), float(cst), float(al), float(be), float(ga))

    def d_spacing(self, hkl: np.ndarray) -> np.ndarray:
        """d (Å) of reflections ``hkl`` (shape (n, 3)) from 1/d² = hᵀ G* h."""
        h = np.asarray(hkl, dtype=float).reshape(-1, 3)
        inv_d2 = np.einsum("ni,ij,nj->n", h, self.reciprocal_metric, h)
        return 1.0 / np.sqrt(inv_d2)

    def distance(self, frac1: np.ndarray, frac2: np.ndarray) -> np.ndarray:
        """Distance (Å) between fractional positions, without periodic images."""
        d = np.asarray(frac2, float) - np.asarray(frac1, float)
        return np.sqrt(np.einsum("...i,ij,...j->...", d, self.metric, d))

    def replace(self, **changes: float) -> Cell:
        """A copy with some parameters changed."""
        p = dict(zip(("a", "b", "c", "alpha", "beta", "gamma"), self.parameters, strict=True))
        p.update(changes)
        return Cell(**p)
