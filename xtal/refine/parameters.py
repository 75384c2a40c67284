"""Named refinable parameters, linear constraints and distance restraints.

Every refinable quantity has a dot-path name (``phases.<name>.cell.a``,
``phases.<name>.sites.B1.occ``, ``instrument.zero``, ``background.chebyshev.3``),
a value, a refine flag, optional bounds and, after a fit, an esd (lmfit's
parameter model, addressed by path as diffpy.srfit does).

Constraints are linear equalities Σ cᵢ pᵢ = d among parameters.  Symmetry adds
them automatically (cell metric by crystal system; a site on a special position
moves only along the directions its site-symmetry group leaves free); users add
their own, e.g. ``phases.trig.sites.B1.occ + phases.trig.sites.B2.occ = 2/3`` or
an equality of several ADPs.  The refined parameters are then written as
p = p₀ + A u over free variables u spanning the null space of the constraint
matrix, so every step satisfies every constraint exactly.

Restraints (e.g. B–S = 1.81 ± 0.02 Å) are soft: extra residual rows
(d − d₀)/σ added to the weighted residuals (physics.md §7).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from xtal.errors import InputError
from xtal.refine.paths import ParamPath


@dataclass
class Parameter:
    """One refinable quantity.

    Attributes
    ----------
    name
        Dot path.
    value
        Current value.
    refine
        Refined in the current stage.
    lower, upper
        Optional bounds.
    esd
        Standard uncertainty after a fit (None if not refined).
    linear
        The model is linear in it (scales, background coefficients, halo areas):
        solved, not searched.
    path
        The parsed name (set by :meth:`ParameterSet.add`).
    """

    name: str
    value: float
    refine: bool = False
    lower: float | None = None
    upper: float | None = None
    esd: float | None = None
    linear: bool = False
    path: ParamPath | None = None

    def clip(self, v: float) -> float:
        """``v`` limited to the bounds."""
        if self.lower is not None:
            v = max(v, self.lower)
        if self.upper is not None:
            v = min(v, self.upper)
        return v


@dataclass(frozen=True)
class Constraint:
    """Σ coefficients[name] · p[name] = rhs."""

    coefficients: dict[str, float]
    rhs: float
    origin: str = "user"
    only_if_all_refined: bool = False  # e.g. a polar origin: needed only if all move

    def __str__(self) -> str:
        terms = " + ".join(f"{c:g}*{n}" for n, c in self.coefficients.items())
        return f"{terms} = {self.rhs:g}"


@dataclass(frozen=True)
class Restraint:
    """Soft distance restraint between two sites of a phase: d(site1, site2) = target ± sigma.

    The shortest distance over lattice translations and symmetry images is used.
    """

    phase: str
    site1: str
    site2: str
    target: float
    sigma: float


_TERM = re.compile(r"\s*([+-]?)\s*(?:([0-9.]+(?:/[0-9.]+)?)\s*\*?\s*)?([A-Za-z_][\w.\-*]*)\s*")


def _number(text: str) -> float:
    try:
        return float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise InputError(f"'{text}' is not a number or fraction") from None


def parse_constraint(text: str, names: list[str]) -> list[Constraint]:
    """Parse a user constraint.

    Forms
    -----
    ``a + b = 2/3``, ``2*a - b = 0``: linear equality among named parameters.
    ``equal: pattern`` (or ``a = b = c``): all matching parameters equal.
    Names may use shell wildcards (``phases.*.sites.*.biso``).
    """
    src = text.strip()
    if src.startswith("equal:"):
        matched = match_names(src[6:].strip(), names)
        if len(matched) < 2:
            raise InputError(f"constraint '{src}' matches fewer than two parameters")
        return [Constraint({matched[0]: 1.0, m: -1.0}, 0.0, src) for m in matched[1:]]
    sides = [s.strip() for s in src.split("=")]
    if len(sides) < 2 or any(not s for s in sides):
        raise InputError(f"constraint '{src}' is not of the form 'expression = value'")
    if len(sides) > 2:  # a = b = c
        ms = [match_names(s, names, single=True)[0] for s in sides]
        return [Constraint({ms[0]: 1.0, m: -1.0}, 0.0, src) for m in ms[1:]]
    lhs, rhs = sides
    try:
        value = _number(rhs)
    except InputError:  # "a = b"
        a = match_names(lhs, names, single=True)[0]
        b = match_names(rhs, names, single=True)[0]
        return [Constraint({a: 1.0, b: -1.0}, 0.0, src)]
    coeffs: dict[str, float] = {}
    pos = 0
    while pos < len(lhs):
        m = _TERM.match(lhs, pos)
        if not m or m.end() == pos:
            raise InputError(f"cannot read constraint '{src}' at '{lhs[pos:]}'")
        sign = -1.0 if m.group(1) == "-" else 1.0
        c = _number(m.group(2)) if m.group(2) else 1.0
        for name in match_names(m.group(3), names):
            coeffs[name] = coeffs.get(name, 0.0) + sign * c
        pos = m.end()
    return [Constraint(coeffs, value, src)]


def match_names(pattern: str, names: list[str], single: bool = False) -> list[str]:
    """Parameter names matching a dot path with shell wildcards (error if none)."""
    out = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    if not out:
        raise InputError(f"no parameter matches '{pattern}'")
    if single and len(out) != 1:
        raise InputError(f"'{pattern}' matches {len(out)} parameters; name exactly one")
    return out


@dataclass
class ParameterSet:
    """All parameters of a model, in a fixed order, with their constraints."""

    params: dict[str, Parameter] = field(default_factory=dict)
    constraints: list[Constraint] = field(default_factory=list)

    def add(self, p: Parameter) -> None:
        if p.path is None:
            p.path = ParamPath.parse(p.name)
        self.params[p.name] = p

    def __getitem__(self, name: str) -> Parameter:
        return self.params[name]

    def __contains__(self, name: str) -> bool:
        return name in self.params

    @property
    def names(self) -> list[str]:
        return list(self.params)

    def values(self) -> dict[str, float]:
        """name → value."""
        return {n: p.value for n, p in self.params.items()}

    def refined(self, linear: bool | None = None) -> list[str]:
        """Names of refined parameters (optionally only the (non)linear ones)."""
        return [
            n for n, p in self.params.items() if p.refine and (linear is None or p.linear == linear)
        ]

    def set_refine(self, patterns: list[str]) -> None:
        """Refine exactly the parameters matching any of ``patterns``."""
        for p in self.params.values():
            p.refine = False
        for pat in patterns:
            for name in match_names(pat, self.names):
                self.params[name].refine = True

    def coupled(self, names: list[str]) -> tuple[list[str], list[str]]:
        """``names`` and the partners constraints tie them to; and a note per addition.

        A constraint says its parameters move together (x = y = z of a site on a
        3-fold axis, a = b of a tetragonal cell, B1 + B2 = 2/3): refining one of them
        alone would hold it fixed, so its partners are refined too.  The floating
        origin of a polar group is held only when all its coordinates move, and adds
        nothing.
        """
        out = list(names)
        have = set(out)
        notes = []
        changed = True
        while changed:
            changed = False
            for c in self.constraints:
                if c.only_if_all_refined or have.isdisjoint(c.coefficients):
                    continue
                new = [n for n in c.coefficients if n not in have and not self[n].linear]
                if new:
                    out += new
                    have.update(new)
                    changed = True
                    notes.append(f"{', '.join(new)} refined too (tied by {c.origin})")
        return out, notes

    def mapping(self, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Affine map p = p0 + A u of the refined nonlinear ``names`` that obeys all constraints.

        Constraint terms on parameters that are not refined are held at their
        current values.  Returns ``(p0, A)``; p0 is the current values moved
        (least-norm) onto the constraint set, A spans the null space.
        """
        current = np.array([self.params[n].value for n in names])
        index = {n: i for i, n in enumerate(names)}
        rows, rhs, origins = [], [], []
        for c in self.constraints:
            if c.only_if_all_refined and not all(n in index for n in c.coefficients):
                continue
            row = np.zeros(len(names))
            d = c.rhs
            used = False
            for n, coef in c.coefficients.items():
                if n in index:
                    row[index[n]] += coef
                    used = True
                else:
                    d -= coef * self.params[n].value
            if used:
                rows.append(row)
                rhs.append(d)
                origins.append(c.origin)
        if not rows:
            return current, np.eye(len(names))
        cm, dv = np.array(rows), np.array(rhs)
        # move the start onto the constraint set with the smallest change
        resid = dv - cm @ current
        p0 = current + np.linalg.lstsq(cm, resid, rcond=None)[0]
        # values read from files carry rounding (0.333333 for 1/3): tolerate 1e-5
        off = np.abs(cm @ p0 - dv) > 1e-5 * max(1.0, np.abs(dv).max())
        if off.any():
            bad = "; ".join(dict.fromkeys(o for o, x in zip(origins, off, strict=True) if x))
            raise InputError(f"constraints contradict each other ({bad[:200]})")
        a = _null_space(cm, rcond=1e-10)
        a[np.abs(a) < 1e-12] = 0.0  # round-off must not make a fixed parameter "movable"
        return p0, a


def _null_space(m: np.ndarray, rcond: float) -> np.ndarray:
    """Orthonormal basis (columns) of the null space of ``m``, from its SVD: the right
    singular vectors whose singular values are ≤ ``rcond`` × the largest (Golub & Van
    Loan, Matrix Computations, 4th ed., §2.4)."""
    _, sv, vh = np.linalg.svd(m, full_matrices=True)
    rank = int(np.sum(sv > rcond * sv.max())) if sv.size else 0
    return vh[rank:].T.copy()
