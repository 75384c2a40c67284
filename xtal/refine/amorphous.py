"""How much of a sample is crystalline: internal standard and halo areas.

Rietveld weight fractions W_p (Hill & Howard 1987) are fractions of the *crystalline*
part: they sum to 1 whatever glass the sample holds.  Two ways to the rest:

Internal standard (Bish & Howard, J. Appl. Cryst. 21, 86, 1988; Madsen, Scarlett &
Kern, in *Modern Diffraction Methods*, 2012)
    A crystalline standard s is weighed into the sample at a fraction f_s of the
    mixture.  Its refined fraction W_s overstates f_s by exactly the factor by which
    the crystalline part falls short of the whole, so in the mixture
    X_p = W_p · f_s / W_s and the amorphous part is 1 − f_s / W_s.  Reported here per
    the *original sample* (the standard removed, what was weighed before mixing):
    X'_p = W_p f_s / (W_s (1 − f_s)), amorphous A = (1 − f_s / W_s) / (1 − f_s).
    esds propagate the covariance of the phase scales and the weighing esd of f_s.

Degree of crystallinity from areas (e.g. Ruland, Acta Cryst. 14, 1180, 1961, in its
simplest form)
    DOC = Σ Bragg area / (Σ Bragg area + Σ halo area), areas above the Chebyshev
    background over the measured range.  It assumes that glass and crystal have the
    same composition and the same scattering power per unit mass (true of a Na3BS3
    glass–ceramic, not of a mixture of different compounds), that the halo model holds
    all of the glass's scattering (what of it the background polynomial takes is
    counted as neither), and it ignores the Bragg intensity that thermal motion moves
    into the diffuse background (so it reads slightly low).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from xtal.errors import InputError


@dataclass(frozen=True)
class InternalStandard:
    """A weighed-in crystalline standard.

    Attributes
    ----------
    phase
        Name of the standard's phase in the refinement.
    fraction
        Its weight fraction in the mixture (0–1; 10 wt% is 0.10).
    esd
        Standard uncertainty of ``fraction`` from the weighing.
    """

    phase: str
    fraction: float
    esd: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.fraction < 1 or not np.isfinite(self.fraction):
            raise InputError(
                f"internal standard {self.phase}: {100 * self.fraction:g} wt% must lie "
                "between 0 and 100"
            )
        if self.esd < 0 or not np.isfinite(self.esd):
            raise InputError(f"internal standard {self.phase}: negative weighing esd")

    @classmethod
    def parse(cls, text: str) -> InternalStandard:
        """``PHASE:WT%`` or ``PHASE:WT%:ESD%`` (e.g. ``Si_standard:10:0.05``)."""
        parts = text.rsplit(":", 2)
        try:
            if len(parts) == 3 and _number(parts[2]):
                return cls(parts[0], float(parts[1]) / 100, float(parts[2]) / 100)
            name, wt = text.rsplit(":", 1)
            return cls(name, float(wt) / 100)
        except ValueError:
            raise InputError(
                f"--internal-standard '{text}': give PHASE:WT% or PHASE:WT%:ESD% "
                "(e.g. Si_standard:10:0.05)"
            ) from None


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _propagate(
    fn: Callable[[np.ndarray, float], np.ndarray],
    scales: np.ndarray,
    cov: np.ndarray | None,
    f: float,
    f_esd: float,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Values of ``fn(scales, f)`` and their esds by linear propagation (central differences)."""
    value = fn(scales, f)
    if cov is None:
        return value, None
    jac = np.zeros((value.size, scales.size))
    h_f = 1e-7
    for k in range(scales.size):
        h = 1e-6 * max(abs(scales[k]), 1e-12)
        up, down = scales.copy(), scales.copy()
        up[k] += h
        down[k] -= h
        jac[:, k] = (fn(up, f) - fn(down, f)) / (2 * h)
    d_f = (fn(scales, f + h_f) - fn(scales, f - h_f)) / (2 * h_f)
    var = np.einsum("ik,kl,il->i", jac, cov, jac) + (d_f * f_esd) ** 2
    return value, np.sqrt(np.maximum(var, 0.0))


def internal_standard_fractions(
    names: list[str],
    scales: np.ndarray,
    zmv: np.ndarray,
    cov: np.ndarray | None,
    standard: InternalStandard,
) -> tuple[dict[str, tuple[float, float | None]], tuple[float, float | None]]:
    """Fractions of the original sample (standard removed) and its amorphous part.

    ``scales`` and ``zmv`` of the crystalline phases in ``names`` order, ``cov`` the
    covariance of the scales (or None).  Returns ({phase: (X'_p, esd)} for every phase
    but the standard, (A, esd)).
    """
    if standard.phase not in names:
        raise InputError(
            f"internal standard '{standard.phase}' is not a phase of this refinement "
            f"(phases: {', '.join(names)})"
        )
    s = names.index(standard.phase)
    others = [i for i in range(len(names)) if i != s]

    def fn(sc: np.ndarray, f: float) -> np.ndarray:
        w = sc * zmv / np.sum(sc * zmv)
        x = w[others] * f / (w[s] * (1 - f))
        amorphous = (1 - f / w[s]) / (1 - f)
        return np.append(x, amorphous)

    value, esd = _propagate(fn, np.asarray(scales, float), cov, standard.fraction, standard.esd)
    fractions = {
        names[i]: (float(value[j]), None if esd is None else float(esd[j]))
        for j, i in enumerate(others)
    }
    return fractions, (float(value[-1]), None if esd is None else float(esd[-1]))


def crystallinity(
    phase_areas: np.ndarray,
    halo_areas: np.ndarray,
    cov: np.ndarray | None = None,
) -> tuple[float, float | None]:
    """DOC = ΣB / (ΣB + ΣH) from integrated Bragg (``phase_areas``) and halo areas.

    ``cov`` is the covariance of the concatenated areas (phases then halos), or None.
    """
    b, h = np.asarray(phase_areas, float), np.asarray(halo_areas, float)
    areas = np.concatenate([b, h])
    total = areas.sum()
    if total <= 0:
        return float("nan"), None
    doc = b.sum() / total
    if cov is None:
        return float(doc), None
    # ∂DOC/∂B_i = H/T², ∂DOC/∂H_j = −B/T²
    grad = np.concatenate([np.full(b.size, h.sum()), np.full(h.size, -b.sum())]) / total**2
    return float(doc), float(np.sqrt(max(grad @ cov @ grad, 0.0)))
