"""Recipe roles: a recipe names a phase by what it is, not by one fixed name.

A recipe written for a material (``refinements/na3bs3.toml``) declares roles::

    [role.trigonal]
    formula = "Na3BS3"      # composition, compared as element ratios
    space_group = 143       # IT number (optional)

and writes ``{trigonal}`` where a phase name goes (constraints, restraints, stage
patterns, ``[phase."{trigonal}"]`` options).  A role is filled by every phase
whose composition and space group match, whatever the phase is called (a user's
own Table-1 CIF named after its file works like the shipped structure); the
user can name the phase instead (``--role trigonal=PHASE``).  A role that no phase
fills is reported; whatever uses it is then not applied, with a warning naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from xtal.crystal.phase import Phase
from xtal.errors import InputError

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*)\}")
_FORMULA = re.compile(r"([A-Z][a-z]?)(\d*(?:\.\d+)?)")


@dataclass(frozen=True)
class Role:
    """How a recipe recognises a phase."""

    name: str
    formula: str = ""
    space_group: int | None = None
    description: str = ""

    def matches(self, phase: Phase) -> bool:
        """Same element ratios (and space-group number, when given)."""
        if self.space_group is not None and phase.space_group.number != self.space_group:
            return False
        if not self.formula:
            return True
        return _ratios(parse_formula(self.formula)) == _ratios(phase.cell_contents)


def parse_formula(text: str) -> dict[str, float]:
    """``"Na3BS3"`` → {Na: 3, B: 1, S: 3}; one-line error if it is not a formula."""
    pos, out = 0, {}
    for m in _FORMULA.finditer(text):
        if m.start() != pos:
            break
        out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2) or 1)
        pos = m.end()
    if pos != len(text) or not out:
        raise InputError(f"'{text}' is not a chemical formula (e.g. Na3BS3)")
    return out


def _ratios(counts: Mapping[str, float]) -> dict[str, Fraction]:
    total = sum(counts.values())
    return {
        el: Fraction(n / total).limit_denominator(200) for el, n in counts.items() if n > 1e-9
    }


def resolve_roles(
    roles: Mapping[str, Role], phases: Sequence[Phase], overrides: Mapping[str, str]
) -> dict[str, tuple[str, ...]]:
    """Role → names of the phases that fill it (user overrides first)."""
    names = {p.name for p in phases}
    out: dict[str, tuple[str, ...]] = {}
    for role, phase in overrides.items():
        if role not in roles:
            raise InputError(
                f"the recipe has no role '{role}' (roles: {', '.join(roles) or 'none'})"
            )
        if phase not in names:
            raise InputError(f"--role {role}={phase}: no phase '{phase}' in this refinement")
        out[role] = (phase,)
    for role, spec in roles.items():
        if role not in out:
            out[role] = tuple(p.name for p in phases if spec.matches(p))
    return out


def placeholders(text: str) -> list[str]:
    """Role names used in ``text``."""
    return _PLACEHOLDER.findall(text)


def expand(text: str, filled: Mapping[str, tuple[str, ...]]) -> list[str]:
    """``text`` once per combination of phases its roles stand for ([] if one is empty).

    Raises :class:`InputError` for a placeholder that names no declared role.
    """
    out = [text]
    for role in dict.fromkeys(placeholders(text)):
        if role not in filled:
            raise InputError(f"'{text}' uses {{{role}}}, which the recipe does not declare")
        out = [t.replace("{" + role + "}", name) for t in out for name in filled[role]]
    return out
