"""Pattern: a powder diffraction pattern (measured or simulated).

Conventions: ``x`` is 2θ in degrees (constant-wavelength data), ``y`` counts or
intensity, ``sigma`` the standard uncertainty of ``y`` (None: Poisson, σ² = y,
guarded at y = 0 as physics.md §7 says).
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
        Standard uncertainties of ``y``, or None for Poisson statistics.
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
            if s.shape != y.shape or not np.all(np.isfinite(s)) or np.any(s < 0):
                raise InputError(
                    "standard uncertainties must be finite, non-negative, one per point", where
                )
            object.__setattr__(self, "sigma", s)
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

    def esd(self) -> np.ndarray:
        """σ of each point: the file's esd, else sqrt(max(y, 1)) (Poisson, guarded at 0)."""
        if self.sigma is not None:
            return np.where(self.sigma > 0, self.sigma, 1.0)
        return np.sqrt(np.maximum(self.y, 1.0))

    def check_counts(self) -> None:
        """Raise if intensities are negative (refinement with Poisson weights needs counts ≥ 0)."""
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
