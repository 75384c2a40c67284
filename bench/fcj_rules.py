"""Derive the node tables of xtal's FCJ quadrature (``xtal.diffraction.fcj._R_MAX``).

Run with ``.venv/bin/python bench/fcj_rules.py`` (a few minutes).  Not a test: it
prints figures, it asserts nothing; ``tests/test_fcj.py`` checks the tables it
printed against an independent integration.

For n = 1 … MAX_NODES nodes and each rule's tolerance it finds, by bisection, the
largest spread r = δ_max/Γ at which the n-node peak differs from the converged FCJ
integral by less than the tolerance (max |drawn − converged| / max converged) for
every Lorentzian fraction η in ETAS and every (2θ, SH/L) in CASES.  The converged
integral is the 200-node rule; it is first checked against a direct midpoint
integration of the FCJ weight in the paper's own variable 2φ (20 000 points).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from xtal.diffraction.fcj import FCJ_RULES, MAX_NODES, _group, fcj_spread

ETAS = (0.0, 0.25, 0.5, 0.75, 1.0)
CASES = ((20.0, 0.03), (5.0, 0.05), (60.0, 0.01), (120.0, 0.02), (165.0, 0.03))
N_REFERENCE = 200


def pseudo_voigt(dx: np.ndarray, fwhm: float, eta: float) -> np.ndarray:
    """Unit-area pseudo-Voigt of total FWHM ``fwhm`` and Lorentzian fraction ``eta``."""
    s2 = fwhm**2 / (8 * np.log(2))
    gauss = np.exp(-0.5 * dx * dx / s2) / np.sqrt(2 * np.pi * s2)
    return (1 - eta) * gauss + eta * (fwhm / 2 / np.pi) / (dx * dx + fwhm * fwhm / 4)


def drawn(x: np.ndarray, nodes: tuple[np.ndarray, np.ndarray], fwhm: float, eta: float):
    """Σ_k w_k pV(x − p_k): the peak drawn from quadrature nodes (one peak, row 0)."""
    sp, wt = nodes
    return pseudo_voigt(x[:, None] - sp[0][None, :], fwhm, eta) @ wt[0]


def direct(x: np.ndarray, pos: float, fwhm: float, eta: float, shl: float, n: int = 20000):
    """FCJ weight (S + H − h)/(h cos 2φ) integrated over 2φ, midpoint rule in sqrt|2θ − 2φ|."""
    c = np.cos(np.radians(pos))
    side = 1 if c > 0 else -1
    u = (np.arange(n) + 0.5) * np.sqrt(fcj_spread(np.array([pos]), shl)[0]) / n
    two_phi = pos - side * u**2
    h = np.sqrt(np.maximum(np.cos(np.radians(two_phi)) ** 2 / c**2 - 1, 1e-300))
    w = np.where(h < shl, (shl - h) / (h * np.abs(np.cos(np.radians(two_phi)))) * 2 * u, 0.0)
    w /= w.sum()
    chunks = np.array_split(np.arange(n), n // 1000)  # bounded memory
    return sum(drawn(x, (two_phi[None, k], w[None, k]), fwhm, eta) for k in chunks)


def grid(pos: float, spread: float, fwhm: float) -> np.ndarray:
    half = spread + 12 * fwhm
    return np.arange(pos - half, pos + half, fwhm / 25)


def max_error(r: float, n: int) -> float:
    """Largest relative error of the n-node rule at spread r over ETAS and CASES."""
    worst = 0.0
    for pos, shl in CASES:
        p = np.array([pos])
        spread = float(fcj_spread(p, shl)[0])
        fwhm = spread / r
        x = grid(pos, spread, fwhm)
        ref_nodes, nodes = _group(p, shl, N_REFERENCE), _group(p, shl, n)
        # pV is linear in η: draw the Gaussian and Lorentzian parts once
        ref = [drawn(x, ref_nodes, fwhm, e) for e in (0.0, 1.0)]
        ours = [drawn(x, nodes, fwhm, e) for e in (0.0, 1.0)]
        for eta in ETAS:
            r_eta = (1 - eta) * ref[0] + eta * ref[1]
            diff = (1 - eta) * (ours[0] - ref[0]) + eta * (ours[1] - ref[1])
            worst = max(worst, float(np.abs(diff).max() / r_eta.max()))
    return worst


def r_max(n: int, tol: float, lo: float) -> float:
    """Largest r (bisection in log r) with max_error(r, n) < tol, searching above ``lo``."""
    if max_error(lo, n) >= tol:
        return lo
    hi = 2 * lo + 0.5
    while max_error(hi, n) < tol:
        lo, hi = hi, 2 * hi
    for _ in range(14):  # to 2e-5 of r
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if max_error(mid, n) < tol else (lo, mid)
    return lo


def check_reference() -> float:
    worst = 0.0
    for pos, shl in CASES:
        p = np.array([pos])
        spread = float(fcj_spread(p, shl)[0])
        for r in (0.3, 3.0, 20.0):
            fwhm = spread / r
            x = grid(pos, spread, fwhm)
            for eta in (0.0, 1.0):
                ref = direct(x, pos, fwhm, eta, shl)
                ours = drawn(x, _group(p, shl, N_REFERENCE), fwhm, eta)
                worst = max(worst, float(np.abs(ours - ref).max() / ref.max()))
    return worst


def main() -> int:
    start = time.perf_counter()
    print(f"{N_REFERENCE}-node rule vs direct midpoint integration in 2φ:"
          f" max |difference| {check_reference():.1e} of the peak height")
    for rule, tol in FCJ_RULES.items():
        table, lo = [], 1e-4
        for n in range(1, MAX_NODES + 1):
            lo = r_max(n, tol, lo)
            scale = 10.0 ** (2 - np.floor(np.log10(lo)))
            table.append(float(np.floor(lo * scale) / scale))  # rounded down to 3 digits
            print(f"  {rule} n={n}: r_max {table[-1]}", file=sys.stderr, flush=True)
        print(f'"{rule}": np.array({table}),  # < {tol:g} of the peak height')
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
