"""Typed parameter paths.

Users name refinable quantities by dot paths — ``phases.<phase>.cell.a``,
``phases.<phase>.sites.<label>.biso``, ``instrument.zero``,
``background.chebyshev.3`` — as in diffpy.srfit and lmfit.  Inside the code a
path is a parsed :class:`ParamPath`, built by the constructors below and never
by string assembly, so a phase or site name can never be confused with the
path's structure.  Such names must not contain the separator or the characters
wildcards and constraints use (:data:`FORBIDDEN`); :func:`check_name` refuses
them with a one-line error before a refinement is set up.

The vocabulary
--------------
=====================================================  ==========================
``phases.<p>.scale``                                   Rietveld scale S
``phases.<p>.cell.{a,b,c,alpha,beta,gamma}``           Å, degrees
``phases.<p>.sites.<s>.{x,y,z,occ,biso}``              fractions, B in Å²
``phases.<p>.po.ratio``                                March–Dollase r
``phases.<p>.size``, ``phases.<p>.microstrain``        µm, 10⁻⁶
``instrument.<k>``                                     GSAS-II units (Instrument)
``background.chebyshev.<i>``                           Chebyshev coefficient i
``background.halo.<i>.{position,fwhm,area}``           degrees, counts × degrees
=====================================================  ==========================
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xtal.errors import InputError

CELL_KEYS = ("a", "b", "c", "alpha", "beta", "gamma")
SITE_KEYS = ("x", "y", "z", "occ", "biso")
HALO_KEYS = ("position", "fwhm", "area")
PHASE_LEAVES = ("scale", "size", "microstrain")
FORBIDDEN = frozenset(".*?[]=,: \t\n\r")
_FORBIDDEN_RE = re.compile(r"[.*?\[\]=,:\s]")


def check_name(name: str, what: str = "phase") -> str:
    """``name`` if it can sit in a dot path; otherwise a one-line :class:`InputError`."""
    if not name or _FORBIDDEN_RE.search(name):
        bad = sorted({c for c in name if c in FORBIDDEN}) if name else []
        shown = " ".join(repr(c) for c in bad) or "an empty name"
        raise InputError(
            f"{what} name {name!r} cannot be used in parameter paths (contains {shown}); "
            f"rename it (no '.', spaces, wildcards, '=', ',' or ':')"
        )
    return name


@dataclass(frozen=True, order=True)
class ParamPath:
    """A parsed parameter path.

    Attributes
    ----------
    kind
        ``"phase"``, ``"instrument"`` or ``"background"``.
    group
        Within a phase: ``"scale"``, ``"cell"``, ``"sites"``, ``"po"``, ``"size"``,
        ``"microstrain"``; within the background: ``"chebyshev"`` or ``"halo"``;
        ``"instrument"`` for instrument parameters.
    key
        The leaf (``"a"``, ``"x"``, ``"zero"``, ``"area"`` …; the index for a
        Chebyshev term).
    phase
        Phase name, or ``""``.
    site
        Site label, or ``""``.
    index
        Halo or Chebyshev index, or -1.
    """

    kind: str
    group: str
    key: str
    phase: str = ""
    site: str = ""
    index: int = -1

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def phase_leaf(cls, phase: str, leaf: str) -> ParamPath:
        """``phases.<phase>.scale|size|microstrain``."""
        return cls("phase", leaf, leaf, phase)

    @classmethod
    def cell(cls, phase: str, key: str) -> ParamPath:
        return cls("phase", "cell", key, phase)

    @classmethod
    def site_param(cls, phase: str, site: str, key: str) -> ParamPath:
        return cls("phase", "sites", key, phase, site)

    @classmethod
    def po_ratio(cls, phase: str) -> ParamPath:
        return cls("phase", "po", "ratio", phase)

    @classmethod
    def instrument(cls, key: str) -> ParamPath:
        return cls("instrument", "instrument", key)

    @classmethod
    def chebyshev(cls, i: int) -> ParamPath:
        return cls("background", "chebyshev", str(i), index=i)

    @classmethod
    def halo(cls, i: int, key: str) -> ParamPath:
        return cls("background", "halo", key, index=i)

    # -- text -----------------------------------------------------------------------------
    def __str__(self) -> str:
        if self.kind == "instrument":
            return f"instrument.{self.key}"
        if self.kind == "background":
            if self.group == "chebyshev":
                return f"background.chebyshev.{self.index}"
            return f"background.halo.{self.index}.{self.key}"
        if self.group == "cell":
            return f"phases.{self.phase}.cell.{self.key}"
        if self.group == "sites":
            return f"phases.{self.phase}.sites.{self.site}.{self.key}"
        if self.group == "po":
            return f"phases.{self.phase}.po.ratio"
        return f"phases.{self.phase}.{self.key}"

    @classmethod
    def parse(cls, text: str) -> ParamPath:
        """Parse a complete dot path (no wildcards); one-line error if it is not one."""
        parts = text.split(".")
        try:
            out = _parse(parts)
        except (IndexError, ValueError):
            out = None
        if out is None or str(out) != text:
            raise InputError(f"'{text}' is not a parameter path (see xtal refine --help)")
        return out

    # -- questions ------------------------------------------------------------------------
    @property
    def is_instrument(self) -> bool:
        return self.kind == "instrument"

    @property
    def is_site(self) -> bool:
        return self.group == "sites"

    @property
    def is_cell(self) -> bool:
        return self.group == "cell"

    @property
    def is_scale(self) -> bool:
        return self.group == "scale"

    @property
    def is_po(self) -> bool:
        return self.group == "po"

    @property
    def affects_intensity_only(self) -> bool:
        """Sites and preferred orientation change peak areas, not positions or widths."""
        return self.group in ("sites", "po")


def _parse(parts: list[str]) -> ParamPath | None:
    head = parts[0]
    if head == "instrument" and len(parts) == 2:
        return ParamPath.instrument(parts[1])
    if head == "background":
        if parts[1] == "chebyshev" and len(parts) == 3:
            return ParamPath.chebyshev(int(parts[2]))
        if parts[1] == "halo" and len(parts) == 4 and parts[3] in HALO_KEYS:
            return ParamPath.halo(int(parts[2]), parts[3])
        return None
    if head != "phases" or len(parts) < 3:
        return None
    phase, rest = parts[1], parts[2:]
    if len(rest) == 1 and rest[0] in PHASE_LEAVES:
        return ParamPath.phase_leaf(phase, rest[0])
    if rest == ["po", "ratio"]:
        return ParamPath.po_ratio(phase)
    if len(rest) == 2 and rest[0] == "cell" and rest[1] in CELL_KEYS:
        return ParamPath.cell(phase, rest[1])
    if len(rest) == 3 and rest[0] == "sites" and rest[2] in SITE_KEYS:
        return ParamPath.site_param(phase, rest[1], rest[2])
    return None
