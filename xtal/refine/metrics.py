"""Agreement indices, weight fractions and R_Bragg, from any engine's curves.

Computed once here for every engine (physics.md §7; GSAS-II reports the same set):

* Rp = Σ|yo − yc| / Σ|yo|;  Rwp = sqrt(Σ w (yo − yc)² / Σ w yo²);
* Rexp = sqrt((N − P) / Σ w yo²);  GOF = Rwp / Rexp;  χ²_ν = Σ w (yo − yc)² / (N − P);
* the "background-subtracted" variants use yo − yb in the denominators;
* R_Bragg per phase from Rietveld-partitioned intensities (Rietveld 1969):
  I_obs,k = I_calc,k Σ_i φ_ik (yo_i − yb_i)/(yc_i − yb_i);
* weight fractions W_p = S_p (ZMV)_p / Σ S_i (ZMV)_i (Hill & Howard, J. Appl.
  Cryst. 20, 467, 1987), their esds from the covariance of the scales (ZMV exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xtal.crystal.phase import Phase
from xtal.diffraction.peaks import PeakList
from xtal.refine.paths import CELL_KEYS, ParamPath


@dataclass(frozen=True)
class Agreement:
    """Agreement indices of one fit (module docstring)."""

    rwp: float
    rp: float
    rexp: float
    gof: float
    chi2: float
    rwp_background_subtracted: float
    rp_background_subtracted: float


def agreement(
    yo: np.ndarray, yc: np.ndarray, yb: np.ndarray, sigma: np.ndarray, n_free: int
) -> Agreement:
    """R factors of observed ``yo`` against calculated ``yc`` (background ``yb``)."""
    w = 1.0 / sigma**2
    dof = max(yo.size - n_free, 1)
    resid2 = float(np.sum(w * (yo - yc) ** 2))
    wy2 = float(np.sum(w * yo**2))
    net = yo - yb
    rwp = float(np.sqrt(resid2 / wy2))
    rexp = float(np.sqrt(dof / wy2))
    return Agreement(
        rwp=rwp,
        rp=float(np.sum(np.abs(yo - yc)) / np.sum(np.abs(yo))),
        rexp=rexp,
        gof=rwp / rexp,
        chi2=resid2 / dof,
        rwp_background_subtracted=float(
            np.sqrt(resid2 / max(float(np.sum(w * net**2)), 1e-300))
        ),
        rp_background_subtracted=float(
            np.sum(np.abs(yo - yc)) / max(float(np.sum(np.abs(net))), 1e-300)
        ),
    )


def covariance_block(
    names: list[str], refined: list[str], cov: np.ndarray | None
) -> np.ndarray | None:
    """The covariance of ``names`` (0 rows/columns for those not refined), or None."""
    if cov is None:
        return None
    idx = {n: i for i, n in enumerate(refined)}
    out = np.zeros((len(names), len(names)))
    sel = [(a, idx[n]) for a, n in enumerate(names) if n in idx]
    for a, i in sel:
        for b, j in sel:
            out[a, b] = cov[i, j]
    return out


def weight_fractions(
    scales: dict[str, float],
    zmv: dict[str, float],
    scale_cov: np.ndarray | None,
) -> dict[str, tuple[float, float | None]]:
    """Hill–Howard W_p and esds; ``scale_cov`` over ``scales``' order (or None).

    ∂W_p/∂S_k = z_p δ_pk / T − S_p z_p z_k / T², T = Σ S_i z_i.  A single phase is
    100 % by definition (no esd).
    """
    names = list(scales)
    total = sum(scales[k] * zmv[k] for k in names)
    out: dict[str, tuple[float, float | None]] = {}
    for p in names:
        if total <= 0:
            out[p] = (float("nan"), None)
            continue
        wf = scales[p] * zmv[p] / total
        if scale_cov is None or len(names) == 1 or not np.any(scale_cov):
            out[p] = (wf, None)
            continue
        grad = np.array(
            [(zmv[p] if k == p else 0.0) / total - scales[p] * zmv[p] * zmv[k] / total**2
             for k in names]
        )
        out[p] = (wf, float(np.sqrt(max(grad @ scale_cov @ grad, 0.0))))
    return out


def volume_esd(name: str, phase: Phase, refined: list[str], cov: np.ndarray | None) -> float | None:
    """esd of the cell volume from the covariance of the refined cell parameters."""
    keys = [str(ParamPath.cell(name, k)) for k in CELL_KEYS]
    block = covariance_block(keys, refined, cov)
    if block is None or not any(k in refined for k in keys):
        return None
    base = phase.cell
    grad = []
    for k in CELL_KEYS:
        h = 1e-6 * max(getattr(base, k), 1.0)
        grad.append((base.replace(**{k: getattr(base, k) + h}).volume - base.volume) / h)
    g = np.array(grad)
    return float(np.sqrt(max(g @ block @ g, 0.0)))


def correlations(
    refined: list[str],
    cov: np.ndarray | None,
    free_map: np.ndarray | None = None,
    threshold: float = 0.9,
) -> list[tuple[str, str, float]]:
    """Pairs with |ρ| > ``threshold``.

    Parameters that constraints move together (a = b, x = y = z of a site) count as
    one, named by the first of them: their mutual ρ = ±1 says nothing, and each pair
    is reported once rather than once per tied member.
    """
    if cov is None:
        return []
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        # the whole matrix at once (a numpy call per pair cost 5 ms); pairs with a zero
        # esd are skipped below before their ρ is read
        rho_all = np.clip(cov / np.outer(sd, sd), -1.0, 1.0).tolist()
    sd_list = sd.tolist()
    group = _tied_groups(len(refined), free_map)
    out = []
    seen: set[tuple[int, int]] = set()
    for i in range(len(refined)):
        for j in range(i + 1, len(refined)):
            if sd_list[i] <= 0 or sd_list[j] <= 0 or group[i] == group[j]:
                continue
            key = (group[i], group[j])
            if key in seen:
                continue
            rho = rho_all[i][j]
            if abs(rho) > threshold:
                seen.add(key)
                out.append((refined[i], refined[j], rho))
    return out


def _tied_groups(n: int, free_map: np.ndarray | None) -> list[int]:
    """Index of the first parameter each one is tied to by constraints (itself if none)."""
    if free_map is None:
        return list(range(n))
    norms = np.maximum(np.linalg.norm(free_map, axis=1), 1e-300)
    unit = free_map / norms[:, None]
    group = list(range(n))
    for i in range(n):
        for j in range(i):
            if group[j] == j and abs(unit[i] @ unit[j]) > 1 - 1e-9:
                group[i] = j
                break
    return group


def partition(
    yo: np.ndarray, yc: np.ndarray, yb: np.ndarray, peaks: PeakList, profiles, scale: float,
    n_reflections: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Calculated and Rietveld-partitioned observed intensity of each reflection.

    I_obs,k = I_calc,k Σ_i φ_ik (yo_i − yb_i)/(yc_i − yb_i) / Σ_i φ_ik (Rietveld 1969),
    φ the unit-area profile of reflection k's peaks (``profiles``, a PeakProfiles).
    """
    net_calc = yc - yb
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            np.abs(net_calc) > 1e-12 * max(np.abs(net_calc).max(), 1e-300),
            (yo - yb) / net_calc,
            0.0,
        )
    drawn = profiles.peak_sums(np.ones_like(yo))
    share = profiles.peak_sums(ratio)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(drawn > 0, share / drawn, 0.0)
    i_calc = peaks.per_reflection(scale * peaks.area, n_reflections)
    i_obs = peaks.per_reflection(scale * peaks.area * frac, n_reflections)
    return i_calc, i_obs


def r_bragg(
    x: np.ndarray,
    yo: np.ndarray,
    yc: np.ndarray,
    yb: np.ndarray,
    peaks: PeakList,
    scale: float,
    hkl: np.ndarray,
    multiplicity: np.ndarray,
    d: np.ndarray,
    fcj: str,
) -> tuple[float, dict[str, list]]:
    """R_Bragg of one phase and its reflection table (hkl, d, 2θ, m, I_calc, I_obs).

    ``peaks`` are the phase's peaks at unit scale; their profiles φ_ik are drawn
    here so that the partition is the same whatever engine made ``yc``.
    """
    _, prof = peaks.profiles(x, fcj=fcj)
    nref = len(hkl)
    i_calc, i_obs = partition(yo, yc, yb, peaks, prof, scale, nref)
    seen = i_calc > 1e-9 * max(i_calc.max(), 1e-300)
    rb = float(
        np.sum(np.abs(i_obs[seen] - i_calc[seen])) / max(np.sum(np.abs(i_obs[seen])), 1e-300)
    )
    first = peaks.line == 0  # Kα1 positions for the table
    tth = np.full(nref, np.nan)
    tth[peaks.ref[first]] = peaks.pos[first]
    return rb, {
        "hkl": hkl[seen].astype(int).tolist(),
        "d": np.asarray(d)[seen].tolist(),
        "two_theta": tth[seen].tolist(),
        "multiplicity": np.asarray(multiplicity)[seen].astype(int).tolist(),
        "i_calc": i_calc[seen].tolist(),
        "i_obs": i_obs[seen].tolist(),
    }
