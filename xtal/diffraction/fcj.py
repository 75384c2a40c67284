"""Axial divergence: quadrature of the Finger–Cox–Jephcoat convolution.

Source: L. W. Finger, D. E. Cox & A. P. Jephcoat, J. Appl. Cryst. 27, 892 (1994),
with S/L = H/L = SH/L / 2 (GSAS-II's single parameter a = SH/L = (S + H)/L).

The integral
------------
A ray leaving the sample at height h (0 ≤ h ≤ S + H) reaches the detector slit at
2φ, cos 2φ = cos 2θ · sqrt(1 + h²/L²); for S = H the FCJ weight of 2φ is
∝ (S + H − h) / (h cos 2φ).  Per dh that is ∝ (S + H − h) / ((1 + h²/L²) sin 2φ):
the 1/h edge singularity at 2φ = 2θ is removed.  With v = (h / (S + H))² ∈ [0, 1]
the peak is

    P(x) = ∫₀¹ pV(x − 2φ(v)) · g(v) · (v^(−1/2) − 1) dv,   g = 1 / ((1 + a²v) sin 2φ(v)),

where g is smooth and nearly constant and 2φ(v) is nearly linear in v
(2θ − 2φ ≈ ½ a² v cot 2θ): all of the weight's shape is in (v^(−1/2) − 1).

The quadrature
--------------
The n-point Gauss rule for the weight (v^(−1/2) − 1) on [0, 1] (moments
1/(k + ½) − 1/(k + 1)), built by Golub & Welsch, Math. Comp. 23, 221 (1969) from
the three-term recurrence that a Stieltjes procedure on a discretisation of the
weight gives (Gautschi, *Orthogonal Polynomials*, 2004, §2.2), integrates
pV(x − 2φ(v))·g(v) exactly up to degree 2n − 1 in v: each peak is drawn as n
pseudo-Voigts at 2φ(v_k) with weights ∝ w_k·g(v_k).  One node is put at the
exact centroid (from the three-node rule) instead.  Measured against the
converged integral (the 200-node rule, itself equal to a direct midpoint
integration in 2φ to < 1e-6; ``bench/fcj_rules.py``), the error of the drawn
peak depends on r = δ_max / Γ (δ_max = |2θ − 2φ(1)|, Γ the total FWHM): n is
the smallest for which ``_R_MAX[rule][n − 1] ≥ r``, so that

* ``"fast"`` (default): |drawn − converged| < 1e-3 of the peak height
  (1 node up to r = 0.08, 2 up to 0.42, then about 2.7 nodes per unit of r);
* ``"exact"``: < 1e-5 of the peak height (1 node up to r = 0.008, 2 up to 0.11,
  then about 5 nodes per unit of r).

Both hold for 0 ≤ η ≤ 1 up to r = 24 (``"fast"``) and 12.6 (``"exact"``), i.e.
with ``MAX_NODES`` nodes; beyond, the rule keeps MAX_NODES nodes and the error grows.
Within SH/L radians of 0° or 180° 2θ (≈ 1° for SH/L 0.02) the rays are cut where
2φ reaches 0° or 180° and the stated accuracy does not hold.
GSAS-II's own rule (B. H. Toby & J. Hester, J. Appl. Cryst. 46, 1219, 2013)
differs from the converged integral (physics.md §5); exact GSAS-II profiles come
from GSAS-II itself (the GSAS-II engine), not from here.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from xtal.errors import InputError
from xtal.util.arrays import unique

#: FCJ rule name → the largest |drawn − converged| it allows, as a fraction of the peak height
FCJ_RULES = {"fast": 1e-3, "exact": 1e-5}
DEFAULT_FCJ = "fast"
MAX_NODES = 64

# _R_MAX[rule][n − 1]: the largest r = δ_max/Γ at which n nodes keep the rule's accuracy
# (bench/fcj_rules.py; rounded down to 3 significant digits)
# fmt: off
_R_MAX = {
    "fast": np.array(
        [
            0.0805, 0.425, 0.79, 1.14, 1.48, 1.84, 2.17, 2.51, 2.86, 3.19, 3.54, 3.89, 4.25,
            4.6, 4.95, 5.32, 5.68, 6.03, 6.4, 6.76, 7.14, 7.49, 7.87, 8.24, 8.61, 8.99,
            9.36, 9.74, 10.1, 10.5, 10.8, 11.2, 11.6, 12.0, 12.4, 12.8, 13.2, 13.6, 13.9,
            14.3, 14.7, 15.1, 15.5, 15.9, 16.3, 16.7, 17.1, 17.5, 17.9, 18.3, 18.7, 19.1,
            19.5, 19.9, 20.3, 20.7, 21.1, 21.5, 22.0, 22.4, 22.8, 23.2, 23.6, 24.0
        ]
    ),
    "exact": np.array(
        [
            0.00801, 0.108, 0.333, 0.547, 0.758, 0.967, 1.16, 1.36, 1.56, 1.76, 1.96, 2.15,
            2.35, 2.54, 2.74, 2.93, 3.13, 3.32, 3.52, 3.72, 3.91, 4.11, 4.31, 4.51, 4.7,
            4.9, 5.1, 5.3, 5.49, 5.7, 5.89, 6.09, 6.29, 6.5, 6.7, 6.9, 7.1, 7.3, 7.5, 7.7,
            7.9, 8.12, 8.31, 8.52, 8.72, 8.92, 9.12, 9.33, 9.53, 9.74, 9.94, 10.1, 10.3,
            10.5, 10.7, 10.9, 11.1, 11.3, 11.5, 11.8, 12.0, 12.2, 12.4, 12.6
        ]
    ),
}
# fmt: on


def check_fcj(rule: object, where: str | None = None) -> str:
    """``rule`` if it names an FCJ quadrature (:data:`FCJ_RULES`), else a one-line InputError."""
    if rule == "gsas2":
        raise InputError(
            "fcj 'gsas2' is gone: xtal draws axial divergence with its own FCJ quadrature"
            " ('fast' or 'exact'); for GSAS-II's own profiles refine with --engine gsas2",
            where,
        )
    if not isinstance(rule, str) or rule not in FCJ_RULES:
        names = " or ".join(f"'{k}'" for k in FCJ_RULES)
        raise InputError(f"fcj must be {names}, not {rule!r}", where)
    return str(rule)


def fcj_spread(pos: np.ndarray, shl: float) -> np.ndarray:
    """δ_max = |2θ − 2φ_min| (degrees): how far the FCJ weight reaches from each peak."""
    c = np.cos(np.radians(np.asarray(pos, float)))
    cmin = np.clip(c * np.sqrt(1.0 + shl * shl), -1.0, 1.0)
    return np.abs(np.degrees(np.arccos(cmin)) - pos)


def fcj_plan(pos: np.ndarray, fwhm: np.ndarray, shl: float, rule: str = DEFAULT_FCJ) -> np.ndarray:
    """Number of quadrature nodes of each peak (0: no asymmetry) for the accuracy of ``rule``.

    A plan can be passed back to :func:`fcj_nodes` (and ``render_peaks``) so that
    a finite-difference derivative is taken with the same nodes on both sides:
    the discrete counts would otherwise make the profile jump.
    """
    table = _R_MAX[check_fcj(rule)]
    pos = np.asarray(pos, float)
    if shl <= 0:
        return np.zeros(pos.size, int)
    r = fcj_spread(pos, shl) / np.maximum(np.broadcast_to(fwhm, pos.shape), 1e-12)
    return np.minimum(np.searchsorted(table, r) + 1, MAX_NODES)


def fcj_nodes(
    pos: np.ndarray,
    fwhm: np.ndarray,
    shl: float,
    rule: str = DEFAULT_FCJ,
    plan: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadrature of the FCJ axial-divergence convolution for each peak (module doc).

    Returns ``(parent, shifted_pos, weight)``: sub-peak ``k`` belongs to peak
    ``parent[k]``, sits at ``shifted_pos[k]`` (degrees) and carries the fraction
    ``weight[k]`` of its parent's area (the weights of a peak sum to 1).

    Parameters
    ----------
    pos, fwhm
        Peak positions and total FWHM Γ (degrees).
    shl
        SH/L = (S + H)/L, S = H.
    rule
        ``"fast"`` or ``"exact"`` (:data:`FCJ_RULES`); used when ``plan`` is None.
    plan
        Nodes per peak (:func:`fcj_plan`), to hold them fixed.
    """
    pos = np.asarray(pos, float)
    if plan is None:
        plan = fcj_plan(pos, fwhm, shl, rule)
    plan = np.asarray(plan)
    if shl <= 0 or pos.size == 0 or not plan.any():
        return np.arange(pos.size), pos.copy(), np.ones(pos.size)
    parents, shifted, weights = [], [], []
    for n in unique(plan):
        idx = np.nonzero(plan == n)[0]
        sp, wt = (pos[idx, None], np.ones((idx.size, 1))) if n == 0 else _group(pos[idx], shl, n)
        parents.append(np.repeat(idx, sp.shape[1]))
        shifted.append(sp.ravel())
        weights.append(wt.ravel())
    return np.concatenate(parents), np.concatenate(shifted), np.concatenate(weights)


def _group(pos: np.ndarray, shl: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions 2φ(v_k) and normalised weights of the n-node rule for peaks at ``pos``."""
    if n == 1:  # one node: at the exact centroid of the FCJ weight
        sp, wt = _group(pos, shl, 3)
        return np.sum(sp * wt, axis=1, keepdims=True), np.ones((pos.size, 1))
    v, w = gauss_fcj(n)
    c = np.cos(np.radians(pos))[:, None]
    # rays whose 2φ would pass 0° or 180° do not exist: cut h/L at |tan 2θ|
    t_max = np.minimum(shl, np.abs(np.tan(np.radians(pos))) * (1 - 1e-9))[:, None]
    t = t_max * np.sqrt(v)
    two_phi = np.degrees(np.arccos(np.clip(c * np.sqrt(1.0 + t * t), -1.0, 1.0)))
    sin2phi = np.maximum(np.sin(np.radians(two_phi)), 1e-12)
    # (S + H − h) over its form in the rule, (1 − sqrt v): 1 unless the rays were cut
    edge = (shl - t) / np.maximum(t_max * (1.0 - np.sqrt(v)), 1e-300)
    wt = w * edge / ((1.0 + t * t) * sin2phi)
    return two_phi, wt / wt.sum(axis=1, keepdims=True)


@lru_cache(maxsize=4)
def _legendre(m: int) -> tuple[np.ndarray, np.ndarray]:
    """The m-point Gauss–Legendre rule on [−1, 1] that every gauss_fcj(n) builds on.

    Newton's method on P_m from Tricomi's asymptotic nodes, cos(π(k − ¼)/(m + ½))
    (Abramowitz & Stegun 22.16.6; weights 2/((1 − x²)P′_m(x)²), A&S 25.4.29): O(m²),
    about 12 ms for m = 600, where numpy's ``leggauss`` solves an m × m eigenvalue
    problem (≈ 30 ms for m = 600).  Agrees with it to 1e-15 in
    the nodes and 1e-9 (relative) in the weights, the last digits of the smallest
    weights at ±1 where 1 − x² loses them (tests/test_fcj.py).
    """
    x = np.cos(np.pi * (np.arange(1, m + 1) - 0.25) / (m + 0.5))
    for _ in range(20):  # quadratic convergence: about 4 steps from these starts
        p, dp = _legendre_p(m, x)
        dx = p / dp
        x = x - dx
        if np.max(np.abs(dx)) < 1e-15:
            break  # the last step moved x by < 1e-15: P′ there is P′ at x to 1e-15
    w = 2.0 / ((1.0 - x * x) * dp * dp)
    s, ws = x[::-1].copy(), w[::-1].copy()  # ascending, as leggauss gives them
    s.flags.writeable = ws.flags.writeable = False
    return s, ws


def _legendre_p(m: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P_m(x) and P′_m(x) by Bonnet's recurrence (A&S 22.7.10, 22.8.5)."""
    p0, p1 = np.ones_like(x), x.copy()
    for k in range(2, m + 1):
        p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
    return p1, m * (x * p1 - p0) / (x * x - 1.0)


@lru_cache(maxsize=MAX_NODES + 8)
def gauss_fcj(n: int, m: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Nodes v_k and weights w_k of the n-point Gauss rule for (v^(−1/2) − 1) on [0, 1].

    Σ w_k f(v_k) = ∫₀¹ f(v)(v^(−1/2) − 1) dv for every polynomial f of degree
    ≤ 2n − 1 (Σ w_k = 1).  The recurrence coefficients of the orthogonal
    polynomials come from a Stieltjes procedure on the discrete measure that an
    m-point Gauss–Legendre rule in s = sqrt(v) gives (∫ f(v)(v^(−1/2) − 1) dv =
    ∫ f(s²)·2(1 − s) ds, exact for degree ≤ m − 1 in v); nodes and weights are
    the eigenvalues and first eigenvector components of the Jacobi matrix
    (Golub & Welsch 1969).  The n-point rule needs the moments up to degree 2n − 1,
    so m ≥ 2n suffices; the default, max(160, 2n + 32), gives the rules of m = 600 to
    1e-14 for every n ≤ MAX_NODES at a fifth of the cost (3 ms per process instead of 14).
    """
    if m is None:
        m = max(160, 2 * n + 32)
    s, ws = _legendre(m)
    s = 0.5 * (s + 1.0)
    v, mu = s * s, ws * (1.0 - s)  # 0.5·ws · 2(1 − s)
    # orthonormal polynomials on the discrete measure: b_k q_{k+1} = (v − a_k) q_k − b_{k−1} q_{k−1}
    a, b = np.zeros(n), np.zeros(n)
    q_prev, q = np.zeros(m), np.full(m, 1.0 / np.sqrt(mu.sum()))
    for k in range(n):
        a[k] = mu @ (v * q * q)
        r = (v - a[k]) * q - (b[k - 1] * q_prev if k else 0.0)
        b[k] = np.sqrt(mu @ (r * r))
        q_prev, q = q, r / b[k]
    nodes, vecs = np.linalg.eigh(np.diag(a) + np.diag(b[:-1], 1) + np.diag(b[:-1], -1))
    return nodes, vecs[0] ** 2 * mu.sum()
