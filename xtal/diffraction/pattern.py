"""Pattern: a powder diffraction pattern (measured or simulated).

Conventions: ``x`` is 2θ in degrees (constant-wavelength data), ``y`` counts or
intensity, ``sigma`` the standard uncertainty of ``y`` (None: Poisson, σ² = y).

Weights follow GSAS-II (physics.md §7 "guard y_obs = 0"): a point whose intensity is
≤ 0, or whose stated esd is ≤ 0, gets weight 0 — it stays in the pattern and in the
count of observations but does not pull on the fit.  Source: GSAS-II 5.7.9 importers
``imports/G2pwd_xye.py`` (``if f <= 0.0: y = 0, w = 0``; esd used only if > 0),
``imports/G2pwd_fxye.py`` (FXY: ``w = 1/f`` if f > 0 else 0; FXYE: 0 if f ≤ 0 or
s ≤ 0) and ``imports/G2pwd_BrukerBRML.py`` (``np.where(y>0, 1/y, 0)``).  (GSAS-II's
Rigaku and Bruker RAW importers use 1/max(y, 1) and its PANalytical importer w = 1 at
y ≤ 0; xtal applies the rule of the majority to every format.)  GSAS-II also sets
such intensities to 0; xtal keeps the values read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from xtal.errors import InputError

if TYPE_CHECKING:
    from xtal.diffraction.reflections import ReflectionList


@dataclass(frozen=True, eq=False)
class Pattern:
    """A powder pattern.

    Attributes
    ----------
    x
        2θ (degrees), strictly increasing.
    y
        Intensity (counts for measured data).
    sigma
        Standard uncertainties of ``y``, or None for Poisson statistics; ``inf``
        marks a point of weight 0 (see :meth:`esd`).
    wavelength
        Kα1 (or single) wavelength in Å if the file states it.
    wavelength2
        Kα2 wavelength in Å if the file states it.
    ratio
        I(Kα2)/I(Kα1) if the file states it.
    name
        Scan or sample name.
    source
        Path of the file it was read from.
    metadata
        Anything else the file says (instrument, date, radius, ...).
    reflections
        For simulated patterns: the reflection list of each phase, by phase name.
    components
        For simulated patterns: named partial curves (each phase, background).
    """

    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray | None = None
    wavelength: float | None = None
    wavelength2: float | None = None
    ratio: float | None = None
    name: str = ""
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    reflections: dict[str, ReflectionList] = field(default_factory=dict)
    components: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=float)
        y = np.asarray(self.y, dtype=float)
        where = self.source
        if x.ndim != 1 or x.shape != y.shape:
            raise InputError(
                f"2θ and intensity have different lengths ({x.size} and {y.size})", where
            )
        if x.size < 2:
            raise InputError(f"pattern has {x.size} point(s); at least 2 are needed", where)
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise InputError("pattern contains NaN or infinite values", where)
        if np.any(np.diff(x) <= 0):
            i = int(np.argmax(np.diff(x) <= 0))
            raise InputError(
                f"2θ is not strictly increasing (at point {i + 1}, 2θ = {x[i + 1]:g})", where
            )
        if self.sigma is not None:
            s = np.asarray(self.sigma, dtype=float)
            # +inf is allowed: it is how esd() marks a point of weight 0
            if s.shape != y.shape or np.any(np.isnan(s)) or np.any(s < 0):
                raise InputError(
                    "standard uncertainties must be non-negative numbers, one per point", where
                )
            object.__setattr__(self, "sigma", s)
        self._check_radiation(where)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    @property
    def two_theta(self) -> np.ndarray:
        """Alias of ``x`` (degrees)."""
        return self.x

    @property
    def step(self) -> float:
        """Median 2θ step (degrees)."""
        return float(np.median(np.diff(self.x)))

    def _check_radiation(self, where: str | None) -> None:
        for name in ("wavelength", "wavelength2"):
            v = getattr(self, name)
            if v is not None and not (np.isfinite(v) and v > 0):
                raise InputError(f"{name} {v} Å must be a positive number", where)
        if self.ratio is not None and not (np.isfinite(self.ratio) and self.ratio >= 0):
            raise InputError(f"Kα2/Kα1 ratio {self.ratio} must be a number ≥ 0", where)

    def weights(self) -> np.ndarray:
        """Least-squares weights w = 1/σ² with GSAS-II's zeros (module docstring).

        Counts without esds: w = 1/y for y > 0, else 0.  With esds: w = 1/σ² where
        y > 0 and σ > 0, else 0.
        """
        s = self.y if self.sigma is None else self.sigma**2
        ok = (self.y > 0) & (s > 0) & np.isfinite(s)
        return np.divide(1.0, s, out=np.zeros_like(self.y), where=ok)

    def esd(self) -> np.ndarray:
        """σ = 1/√w of each point (:meth:`weights`); ``inf`` where the weight is 0.

        Poisson σ = √y for counts, else the file's esd; a point with y ≤ 0 or a stated
        esd ≤ 0 gets σ = ∞ (weight 0), as GSAS-II does (module docstring).
        """
        w = self.weights()
        with np.errstate(divide="ignore"):
            return np.where(w > 0, 1.0 / np.sqrt(w), np.inf)

    def check_counts(self) -> None:
        """Raise if intensities are negative without esds (Poisson weights need counts ≥ 0)."""
        if np.any(self.y < 0) and self.sigma is None:
            raise InputError("pattern has negative counts and no esd column", self.source)

    def select(
        self,
        lo: float | None = None,
        hi: float | None = None,
        exclude: list[tuple[float, float]] | None = None,
    ) -> Pattern:
        """Points with lo ≤ 2θ ≤ hi outside every excluded region."""
        keep = np.ones(self.x.size, bool)
        if lo is not None:
            keep &= self.x >= lo
        if hi is not None:
            keep &= self.x <= hi
        for a, b in exclude or []:
            keep &= ~((self.x >= a) & (self.x <= b))
        if keep.sum() < 2:
            raise InputError(
                f"the 2θ range {lo}–{hi} (with exclusions) contains no data points", self.source
            )
        from dataclasses import replace

        return replace(
            self,
            x=self.x[keep],
            y=self.y[keep],
            sigma=None if self.sigma is None else self.sigma[keep],
            components={k: v[keep] for k, v in self.components.items()},
        )
