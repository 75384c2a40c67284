"""xtal's constraints in GSAS-II's terms.

Two kinds reach GSAS-II: those xtal imposes by itself — sites sharing a position
(O/F on 48f) move as one, and the floating origin of a polar space group is held —
and the user's and recipe's linear constraints.  Each dot path is written as
a · (GSAS-II variable) + b (a coordinate x as the refined shift dAx plus the current
value; B = 8π² U; a halo area = intensity / 100); equalities become GSAS-II
equivalences, the rest constraint equations (GSAS-II documentation, "Constraint
definitions").  A constraint on a quantity that is not linear in GSAS-II's variables
is refused in one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from xtal.errors import InputError
from xtal.refine.gsas2.names import EIGHT_PI2, NOT_IN_GSAS2, Layout
from xtal.refine.parameters import Constraint
from xtal.refine.paths import ParamPath
from xtal.refine.symmetry_constraints import mixed_site_constraints, origin_constraints


def auto_constraints(problem) -> list[Constraint]:
    """The constraints xtal imposes by itself: mixed sites and the origin of polar groups
    (the same as the native engine's, :mod:`xtal.refine.symmetry_constraints`; cell metric
    and special positions GSAS-II imposes itself)."""
    out: list[Constraint] = []
    for phase in problem.phases:
        out += mixed_site_constraints(phase.name, phase) + origin_constraints(phase.name, phase)
    return out


def gsas_constraints(
    layout: Layout, g: Mapping[str, float], constraints: Sequence[Constraint],
    refine: Sequence[str],
) -> list[tuple]:
    """xtal's linear constraints in GSAS-II's variables, for the constraints a stage uses."""
    want = set(refine)
    equal: list[set[str]] = []
    out: list[tuple] = []
    for c in constraints:
        terms = list(c.coefficients.items())
        if not any(n in want for n, _ in terms):
            continue
        if c.only_if_all_refined and not all(n in want for n, _ in terms):
            continue
        mapped = [(n, coef, *linear(layout, g, n, c)) for n, coef in terms]
        total = c.rhs - sum(coef * b for _, coef, _, _, b in mapped)
        _same_type(c, [gname for _, _, gname, _, _ in mapped])
        if len(mapped) == 2 and abs(total) < 1e-12 and (
            mapped[0][1] * mapped[0][3] == -mapped[1][1] * mapped[1][3]
        ):
            _merge(equal, {mapped[0][2], mapped[1][2]})
        else:
            out.append(("c", total, [m[2] for m in mapped], [m[1] * m[3] for m in mapped]))
    out += [("e", sorted(grp), [1.0] * len(grp)) for grp in equal]
    return out


def linear(layout: Layout, g: Mapping[str, float], path: str, c: Constraint):
    """(GSAS-II variable, a, b) with xtal value = a · variable + b, or a one-line refusal."""
    p = ParamPath.parse(path)
    key = p.key
    if p.is_site:
        gname = layout.gsas_names(path)[0]
        if key in "xyz":
            pid, i = gname.split(":")[0], gname.rsplit(":", 1)[1]
            return gname, 1.0, g[f"{pid}::A{key}:{i}"]
        return gname, (EIGHT_PI2 if key == "biso" else 1.0), 0.0
    ok = (p.is_instrument and path not in NOT_IN_GSAS2) or p.group == "chebyshev" or (
        p.group in ("po", "size", "microstrain")
    ) or (p.group == "halo" and key in ("position", "area"))
    if not ok:
        raise InputError(f"constraint '{c.origin}': {path} is not linear in GSAS-II's "
                         f"variables, so GSAS-II cannot hold it")
    return layout.gsas_names(path)[0], (0.01 if key == "area" else 1.0), 0.0


def _same_type(c: Constraint, gnames: list[str]) -> None:
    kinds = {("hist" if n.startswith(":") else "phase" if n.split(":")[1] == "" else "hap")
             for n in gnames}
    if len(kinds) > 1:
        raise InputError(f"constraint '{c.origin}' mixes {' and '.join(sorted(kinds))} "
                         f"parameters, which one GSAS-II constraint cannot")


def _merge(groups: list[set[str]], pair: set[str]) -> None:
    hits = [grp for grp in groups if grp & pair]
    merged = set(pair).union(*hits)
    for grp in hits:
        groups.remove(grp)
    groups.append(merged)
