"""Composition constraints for occupancy refinement.

Refining occupancies freely changes the formula.  When a refinement refines the
occupancies of a phase, the number of atoms of each element in the cell is held
(Σ_s m_s · occ_s = n_element over the sites s of that element, m_s the site
multiplicity): occupancies can only move between sites — e.g. B between the 1a
and 1b sites of trigonal Na3BS3 (B1 + B2 = 2/3, Table 1 of Tsuji et al., Mater.
Adv. 2021) — and an occupancy that the formula alone fixes (Rb on its only site)
stays where it is.  A recipe opts out with ``composition = "free"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from xtal.crystal.phase import Phase
from xtal.refine.parameters import Constraint
from xtal.refine.paths import ParamPath


def composition_constraints(phase: Phase, refined: Iterable[str]) -> list[Constraint]:
    """One constraint per element of ``phase`` with a refined occupancy in ``refined``."""
    wanted = set(refined)
    out = []
    elements = dict.fromkeys(s.element for s in phase.sites)
    for el in elements:
        idx = [i for i, s in enumerate(phase.sites) if s.element == el]
        keys = [str(ParamPath.site_param(phase.name, phase.sites[i].label, "occ")) for i in idx]
        if not wanted.intersection(keys):
            continue
        mult = [phase.site_multiplicity(i) for i in idx]
        total = _snap(sum(m * phase.sites[i].occupancy for m, i in zip(mult, idx, strict=True)))
        coeffs = {k: float(m) for k, m in zip(keys, mult, strict=True)}
        out.append(Constraint(coeffs, float(total), f"composition of {phase.name} ({el})"))
    return out


def _snap(total: float) -> float:
    """A count written with 6 decimals in a CIF (0.666666) read as the fraction it means."""
    frac = Fraction(total).limit_denominator(96)
    return float(frac) if abs(float(frac) - total) < 1e-5 else total


def fixed_by_composition(phase: Phase, name: str) -> bool:
    """True when the occupancy ``name`` is the only one of its element (the formula fixes it)."""
    path = ParamPath.parse(name)
    el = phase.site(path.site).element
    return sum(s.element == el for s in phase.sites) == 1
