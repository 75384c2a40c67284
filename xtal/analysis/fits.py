"""Fits of different models to one pattern, side by side: which model do the data prefer?

Values only (numbers, arrays, phases); :mod:`xtal.app.compare` takes them from
refinement results.  Used by ``xtal compare FIT_A FIT_B ...`` to put the average
(disordered) Na3BS3 model and its ordered candidates (:mod:`xtal.analysis.ordering`)
on the same pattern.

Hamilton's R-factor ratio test
------------------------------
W. C. Hamilton, *Acta Cryst.* **18**, 502–510 (1965).  Of two models fitted to the
same n observations, the *restricted* one (the hypothesis) has m − b parameters and
the *general* one m; R = Rwp(restricted) / Rwp(general).  The hypothesis is rejected at
significance level α when

    R > R_{b, n−m, α} = sqrt(1 + b / (n − m) · F_{b, n−m, α}),

F_{b, n−m, α} the upper-α point of Fisher's F distribution with b and n − m degrees of
freedom (``scipy.stats.f``).  The p value is the α at which R would equal the critical
ratio: p = P(F > (R² − 1)(n − m)/b).  The test assumes linear(ised) models with the
restricted one a special case of the general one, normal errors and correct weights;
an ordered supercell model is not strictly a linear restriction of the average model
(nor the reverse), so read the outcome as a guide with that caveat, as Hamilton's
test is commonly used for Rietveld models.  n counts the pattern points of the fits
(distance restraints, a few rows, are not counted); m is each refinement's number of
resolved free parameters (``Result.n_parameters``).

Reflections only one model has
------------------------------
A reflection of a candidate phase more than one FWHM (the instrument's TCH width at
its angle, :func:`xtal.analysis.compare.instrument_fwhm`) from every reflection of the
reference model's own phases: for an ordered supercell, the superstructure reflections
a pattern can resolve.  Each is listed with its calculated integrated intensity (with
the candidate's refined scale), the counting esd of the integrated intensity over
±1 FWHM, σ_I = Δ2θ · sqrt(Σ σ_i²), and the net intensity the reference fit leaves
there, Σ (y_obs − y_calc,ref) Δ2θ over ±1 FWHM, in units of σ_I: a superstructure
reflection the data hold shows up as a positive residual of the average model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from xtal.diffraction.instrument import Instrument
from xtal.errors import InputError


@dataclass(frozen=True)
class HamiltonTest:
    """Outcome of Hamilton's R-ratio test between two fits (module docstring).

    Attributes
    ----------
    restricted, general
        Names of the fit with fewer parameters (the hypothesis) and with more.
    rwp_restricted, rwp_general
        Their Rwp (fractions).
    b
        Number of parameters the general model adds (dimension of the hypothesis).
    n_minus_m
        Points minus the general model's parameters.
    alpha
        Significance level.
    ratio
        R = Rwp(restricted) / Rwp(general).
    critical
        R_{b, n−m, α}.
    p_value
        P(F_{b, n−m} > (R² − 1)(n − m)/b); 1 when R ≤ 1.
    """

    restricted: str
    general: str
    rwp_restricted: float
    rwp_general: float
    b: int
    n_minus_m: int
    alpha: float
    ratio: float
    critical: float
    p_value: float

    @property
    def significant(self) -> bool:
        """True when the general model fits significantly better (hypothesis rejected)."""
        return self.ratio > self.critical

    @property
    def preferred(self) -> str:
        """The fit the test prefers: the general one only when it is significantly better."""
        return self.general if self.significant else self.restricted

    @property
    def p_text(self) -> str:
        """The p value for people: ``'0.032'``, or ``'< 1e-16'`` below double precision's reach."""
        return "< 1e-16" if self.p_value < 1e-16 else f"{self.p_value:.2g}"

    def verdict(self) -> str:
        """One sentence saying what the test concludes."""
        if self.significant:
            return (f"{self.general} fits significantly better than {self.restricted} "
                    f"(R = {self.ratio:.4f} > {self.critical:.4f}; p {_p(self.p_text)})")
        return (f"{self.general} is not significantly better than {self.restricted} at "
                f"α = {self.alpha:g} (R = {self.ratio:.4f} ≤ {self.critical:.4f}; "
                f"p {_p(self.p_text)}): keep {self.restricted}")


def _p(text: str) -> str:
    return text if text.startswith("<") else f"= {text}"


def hamilton_critical(b: int, n_minus_m: int, alpha: float) -> float:
    """R_{b, n−m, α} = sqrt(1 + b F_{b, n−m, α} / (n − m)) (Hamilton 1965)."""
    from scipy.stats import f

    _check_dof(b, n_minus_m, alpha)
    return math.sqrt(1.0 + b * float(f.isf(alpha, b, n_minus_m)) / n_minus_m)


def hamilton_test(
    fit1: tuple[str, float, int], fit2: tuple[str, float, int], n_points: int,
    alpha: float = 0.05,
) -> HamiltonTest:
    """Hamilton's test of two fits to the same ``n_points``, each (name, Rwp, parameters).

    The fit with fewer parameters is the restricted one.

    Raises
    ------
    InputError
        Equal numbers of parameters (then compare Rwp directly), too few points, α
        outside (0, 1).
    """
    from scipy.stats import f

    (rname, rrwp, rm), (gname, grwp, gm) = sorted((fit1, fit2), key=lambda t: t[2])
    b, nm = gm - rm, n_points - gm
    if b == 0:
        raise InputError(f"{rname} and {gname} have the same number of parameters ({gm}): "
                         "Hamilton's test needs nested models of different size")
    _check_dof(b, nm, alpha)
    ratio = rrwp / grwp
    stat = (ratio**2 - 1.0) * nm / b
    p = 1.0 if ratio <= 1 else float(f.sf(stat, b, nm))
    return HamiltonTest(rname, gname, float(rrwp), float(grwp), int(b), int(nm), float(alpha),
                        float(ratio), hamilton_critical(b, nm, alpha), p)


def _check_dof(b: int, n_minus_m: int, alpha: float) -> None:
    if b < 1 or n_minus_m < 1:
        raise InputError(f"Hamilton's test needs b ≥ 1 and n − m ≥ 1 (b = {b}, n − m = "
                         f"{n_minus_m})")
    if not 0 < alpha < 1:
        raise InputError(f"significance level α = {alpha} must lie in (0, 1)")


# -- fits ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FitSummary:
    """One refinement of the comparison.

    Attributes
    ----------
    name
        The fit's name (its directory, made unique).
    phases
        Its phases, in order.
    rwp, gof
        Rwp (fraction) and goodness of fit.
    n_parameters, n_points
        Resolved free parameters and pattern points.
    rings
        Per phase with B–S rings: (mean distortion index Δ, mean angle variance σ² (°²),
        mean continuous shape measure).
    source
        Where the fit was read from.
    """

    name: str
    phases: tuple[str, ...]
    rwp: float
    gof: float
    n_parameters: int
    n_points: int
    rings: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    source: str | None = None


@dataclass(frozen=True)
class ExtraReflection:
    """A reflection of a candidate fit that the reference fit's phases do not have.

    Attributes
    ----------
    fit, phase
        The candidate fit and its phase.
    hkl
        Miller indices in that phase's cell of every reflection in this peak
        (reflections closer than a tenth of the FWHM are one peak).
    two_theta, d
        Kα1 position (degrees, with the fit's zero shift) and d (Å).
    i_calc
        Calculated integrated intensity with the refined scale (counts × degrees),
        summed over the peak's reflections.
    sigma_i
        Counting esd of an integrated intensity over ±1 FWHM there.
    residual
        Σ (y_obs − y_calc,reference) Δ2θ over ±1 FWHM: what the reference fit leaves.
    separation
        Distance (degrees) to the nearest reflection of the reference phases.
    fwhm
        Instrumental FWHM at ``two_theta`` (degrees).
    """

    fit: str
    phase: str
    hkl: tuple[tuple[int, int, int], ...]
    two_theta: float
    d: float
    i_calc: float
    sigma_i: float
    residual: float
    separation: float
    fwhm: float

    @property
    def hkl_text(self) -> str:
        """``'1 1 0'``, several reflections joined by ``' / '``."""
        return " / ".join(" ".join(str(v) for v in h) for h in self.hkl)

    @property
    def signal_to_noise(self) -> float:
        """I_calc / σ_I: how clearly the pattern would show the reflection."""
        return self.i_calc / self.sigma_i if self.sigma_i > 0 else math.inf

    @property
    def residual_sigma(self) -> float:
        """The reference fit's residual there in units of σ_I."""
        return self.residual / self.sigma_i if self.sigma_i > 0 else 0.0


def extra_reflections(
    fit: str,
    phase: str,
    table: dict[str, list],
    reference_d: np.ndarray,
    instrument: Instrument,
    curves: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> list[ExtraReflection]:
    """Reflections of ``phase`` more than one FWHM from every reference reflection.

    Parameters
    ----------
    fit, phase
        Names for the rows.
    table
        The phase's reflection table of its refinement (``hkl``, ``d``, ``two_theta``,
        ``i_calc``: :attr:`xtal.refine.result.PhaseResult.reflections`).
    reference_d
        d-spacings (Å) of every reflection of the reference fit's own phases.
    instrument
        The candidate fit's instrument (wavelength and FWHM).
    curves
        (x, observed, σ, calculated by the reference fit) on the common points.
    """
    from xtal.analysis.compare import instrument_fwhm

    if not table.get("hkl"):
        return []
    lam = instrument.lam1
    ref_tt = _two_theta(np.asarray(reference_d, float), lam)
    x, yo, sig, yref = (np.asarray(c, float) for c in curves)
    step = float(np.median(np.diff(x))) if x.size > 1 else 0.0
    d_all = np.asarray(table["d"], float)
    tt_bragg = _two_theta(d_all, lam)
    # positions in the data carry the fit's zero/displacement shift (the table's 2θ)
    tt_pos = np.asarray(table.get("two_theta", tt_bragg), float)
    tt_pos = np.where(np.isfinite(tt_pos), tt_pos, tt_bragg)
    rows = []
    for k in np.argsort(tt_pos):
        tt = float(tt_pos[k])
        if not (math.isfinite(tt) and x[0] <= tt <= x[-1]):
            continue
        fwhm = float(instrument_fwhm(instrument, tt)[0])
        sep = float(np.min(np.abs(ref_tt - tt_bragg[k]))) if ref_tt.size else math.inf
        if sep > fwhm:
            rows.append((k, tt, fwhm, sep))
    out: list[ExtraReflection] = []
    for group in _same_peak(rows):
        k0, tt, fwhm, _ = group[0]
        win = np.abs(x - tt) <= fwhm
        s = sig[win]
        sigma_i = step * float(np.sqrt(np.sum(np.where(np.isfinite(s), s, 0.0) ** 2)))
        residual = step * float(np.sum(yo[win] - yref[win]))
        out.append(ExtraReflection(
            fit, phase, tuple(tuple(int(v) for v in table["hkl"][k]) for k, *_ in group), tt,
            float(d_all[k0]), float(sum(table["i_calc"][k] for k, *_ in group)), sigma_i,
            residual, min(g[3] for g in group), fwhm))
    return out


def _same_peak(rows: list[tuple[int, float, float, float]]) -> list[list]:
    """Reflections closer than a tenth of the FWHM are one peak (e.g. the pseudo-hexagonal
    coincidences of an orthohexagonal cell)."""
    groups: list[list] = []
    for r in rows:
        if groups and r[1] - groups[-1][0][1] < 0.1 * r[2]:
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def _two_theta(d: np.ndarray, lam: float) -> np.ndarray:
    s = lam / (2.0 * d)
    out = np.full(d.shape, np.nan)
    ok = (s > 0) & (s < 1)
    out[ok] = 2.0 * np.degrees(np.arcsin(s[ok]))
    return out


__all__ = [
    "ExtraReflection",
    "FitSummary",
    "HamiltonTest",
    "extra_reflections",
    "hamilton_critical",
    "hamilton_test",
]
