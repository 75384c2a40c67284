"""Instrument: wavelengths, polarisation, zero, displacement and profile parameters.

Units and meanings are GSAS-II's constant-wavelength ones (physics.md §§2–5) so that
an ``.instprm`` file means the same here:

* ``lam1``, ``lam2`` in Å; ``ratio`` = I(Kα2)/I(Kα1); ``lam2 = None`` for a single line.
* ``polarization`` P: pol(2θ) = P + (1 − P) cos²2θ (GSAS-II "Polariz.", azimuth 0);
  P = 0.5 is unpolarised.
* ``zero`` in degrees 2θ, *added* to the Bragg angle.
* ``displacement`` sample displacement s in µm; Δ2θ = −2 s cos θ / R (radians),
  R = ``radius`` in mm (GSAS-II "DisplaceX"/"Gonio. radius"); R = 200 mm unless a
  file states it, as GSAS-II assumes (physics.md §3), so that the same data give the
  same s in both programs.
* ``U``, ``V``, ``W`` in centidegrees² (Gaussian variance, σ² = U tan²θ + V tanθ + W);
  ``X``, ``Y``, ``Z`` in centidegrees (Lorentzian FWHM = X / cosθ + Y tanθ + Z).
* ``sh_l`` = (S + H)/L of Finger, Cox & Jephcoat with S = H (GSAS-II "SH/L").
* ``asy1`` … ``asy4``: Bérar–Baldinozzi asymmetry (J. Appl. Cryst. 26, 128, 1993),
  FullProf's Asy1–Asy4, as an alternative to FCJ (use with ``sh_l = 0``); applied
  below 2θ = 90° as FullProf does.
* ``radiation`` "xray" (GSAS-II Type PXC) or "neutron" (PNC). GSAS-II applies no
  polarisation correction to neutron data, so :meth:`Instrument.polarization_factor`
  is 1 for neutrons whatever ``polarization`` holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from xtal.errors import InputError

CU_KA1 = 1.5405929  # Å, Hölzer et al., Phys. Rev. A 56, 4554 (1997)
CU_KA2 = 1.5444140  # Å, idem


@dataclass(frozen=True)
class Instrument:
    """Constant-wavelength laboratory instrument (GSAS-II conventions, see module doc)."""

    lam1: float = CU_KA1
    lam2: float | None = CU_KA2
    ratio: float = 0.5
    polarization: float = 0.5
    azimuth: float = 0.0
    zero: float = 0.0
    displacement: float = 0.0
    radius: float = 200.0
    U: float = 2.0
    V: float = -2.0
    W: float = 5.0
    X: float = 0.0
    Y: float = 0.0
    Z: float = 0.0
    sh_l: float = 0.002
    source: str | None = None
    radiation: str = "xray"
    asy1: float = 0.0
    asy2: float = 0.0
    asy3: float = 0.0
    asy4: float = 0.0

    def __post_init__(self) -> None:
        where = self.source
        for name in ("lam1", "lam2"):
            v = getattr(self, name)
            if v is not None and (not np.isfinite(v) or v <= 0):
                raise InputError(f"wavelength {name} = {v} Å must be positive", where)
        if not 0 <= self.ratio < 10:
            raise InputError(f"I(Kα2)/I(Kα1) = {self.ratio} is not a sensible ratio", where)
        if not 0 <= self.polarization <= 1:
            raise InputError(f"polarisation {self.polarization} must lie in [0, 1]", where)
        if self.radius <= 0:
            raise InputError(f"goniometer radius {self.radius} mm must be positive", where)
        if self.sh_l < 0:
            raise InputError(f"SH/L = {self.sh_l} must not be negative", where)
        if self.radiation not in ("xray", "neutron"):
            raise InputError(f"radiation {self.radiation!r} must be 'xray' or 'neutron'", where)

    @property
    def berar_baldinozzi(self) -> tuple[float, float, float, float] | None:
        """(Asy1, Asy2, Asy3, Asy4), or None when all are zero."""
        p = (self.asy1, self.asy2, self.asy3, self.asy4)
        return p if any(p) else None

    @property
    def wavelengths(self) -> tuple[tuple[float, float], ...]:
        """(λ, relative intensity) of each line drawn: Kα1 at 1, Kα2 at ``ratio``."""
        if self.lam2 is None or self.ratio == 0:
            return ((self.lam1, 1.0),)
        return ((self.lam1, 1.0), (self.lam2, self.ratio))

    def replace(self, **changes: float | str | None) -> Instrument:
        """A copy with some values changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, float | str | None]:
        """Plain dict of all fields."""
        return asdict(self)

    def polarization_factor(self, two_theta_deg: np.ndarray) -> np.ndarray:
        """pol(2θ) = P + (1 − P) cos² 2θ (GSAS-II, azimuth 0); 1 for neutrons."""
        if self.radiation == "neutron":
            return np.ones_like(np.asarray(two_theta_deg, dtype=float))
        c = np.cos(np.radians(two_theta_deg))
        return self.polarization + (1.0 - self.polarization) * c * c

    def shift(self, two_theta_deg: np.ndarray) -> np.ndarray:
        """Instrumental shift Δ2θ (degrees): zero + displacement term (physics.md §3)."""
        th = np.radians(np.asarray(two_theta_deg) / 2.0)
        disp = -2.0 * (self.displacement * 1e-3) * np.cos(th) / self.radius
        return self.zero + np.degrees(disp)
