"""Constraints that a phase's symmetry imposes on its parameters.

* Cell metric by crystal system (IT Vol. A, Table 2.1.2.1): equal lengths and
  fixed angles.
* Special positions: a site moves only in the null space of (R − 1) over its
  site-symmetry group.
* Mixed sites (two species on one position): common x, y, z, B and a fixed total
  occupancy.
* Polar space groups: the floating origin is fixed by holding the sum of the
  coordinates along the polar direction (IT Vol. A, §8.1).
"""

from __future__ import annotations

import numpy as np

from xtal.crystal.phase import Phase, Site
from xtal.refine.parameters import Constraint
from xtal.refine.paths import ParamPath


def symmetry_constraints(name: str, phase: Phase) -> list[Constraint]:
    """Every constraint the space group of ``phase`` (called ``name``) imposes."""
    return (
        cell_constraints(name, phase)
        + site_constraints(name, phase)
        + origin_constraints(name, phase)
        + mixed_site_constraints(name, phase)
    )


def _site(phase: str, label: str, key: str) -> str:
    return str(ParamPath.site_param(phase, label, key))


def cell_constraints(name: str, phase: Phase) -> list[Constraint]:
    """Cell metric by crystal system (IT Vol. A, Table 2.1.2.1)."""
    system = phase.space_group.crystal_system
    c = phase.cell
    eq = []  # pairs that must stay equal
    fixed = []  # angles that must not move
    if system == "cubic":
        eq, fixed = [("a", "b"), ("a", "c")], ["alpha", "beta", "gamma"]
    elif system == "tetragonal":
        eq, fixed = [("a", "b")], ["alpha", "beta", "gamma"]
    elif system in ("trigonal", "hexagonal"):
        if phase.space_group.symbol.startswith("R") and abs(c.gamma - 120) > 1e-3:
            eq = [("a", "b"), ("a", "c"), ("alpha", "beta"), ("alpha", "gamma")]
        else:
            eq, fixed = [("a", "b")], ["alpha", "beta", "gamma"]
    elif system == "orthorhombic":
        fixed = ["alpha", "beta", "gamma"]
    elif system == "monoclinic":
        fixed = [k for k in ("alpha", "beta", "gamma") if abs(getattr(c, k) - 90.0) < 1e-6]
        if len(fixed) == 3:  # β = 90 exactly: keep the unique-axis-b convention
            fixed = ["alpha", "gamma"]
    def cp(k: str) -> str:
        return str(ParamPath.cell(name, k))

    out = [Constraint({cp(a): 1.0, cp(b): -1.0}, 0.0, f"{system} cell") for a, b in eq]
    out += [Constraint({cp(k): 1.0}, float(getattr(c, k)), f"{system} cell") for k in fixed]
    return out


def site_constraints(name: str, phase: Phase) -> list[Constraint]:
    """A site on a special position moves only in the null space of (R − 1) of its stabiliser."""
    out = []
    sg = phase.space_group
    for s in phase.sites:
        stab = sg.site_stabilizer(np.asarray(s.xyz), tol=1e-3)
        if len(stab) <= 1:
            continue
        rows = np.concatenate([sg.rotations[i] - np.eye(3) for i in stab])
        # orthonormal rows of the constrained directions
        _, sv, vt = np.linalg.svd(rows)
        rank = int(np.sum(sv > 1e-8))
        for r in vt[:rank]:
            coeffs = {
                _site(name, s.label, k): float(c)
                for k, c in zip("xyz", r, strict=True)
                if abs(c) > 1e-12
            }
            rhs = float(r @ np.asarray(s.xyz))
            out.append(Constraint(coeffs, rhs, f"site symmetry of {s.label}"))
    return out


def mixed_site_constraints(name: str, phase: Phase) -> list[Constraint]:
    """Sites sharing a position (a mixed site such as O/F on 48f) move as one.

    Their coordinates and B stay equal and their total occupancy stays at its
    start value, so refining the occupancies exchanges one species for the other.
    """
    out = []
    groups: list[list[Site]] = []
    for s in phase.sites:
        for g in groups:
            d = np.asarray(s.xyz) - np.asarray(g[0].xyz)
            if np.all(np.abs(d - np.round(d)) < 1e-4):
                g.append(s)
                break
        else:
            groups.append([s])
    for g in groups:
        if len(g) < 2:
            continue
        first = g[0].label
        labels = "/".join(s.label for s in g)
        for s in g[1:]:
            for k in ("x", "y", "z", "biso"):
                coeffs = {_site(name, first, k): 1.0, _site(name, s.label, k): -1.0}
                out.append(Constraint(coeffs, 0.0, f"mixed site {labels}"))
        total = sum(s.occupancy for s in g)
        out.append(
            Constraint(
                {_site(name, s.label, "occ"): 1.0 for s in g},
                total,
                f"mixed site {labels}",
            )
        )
    return out


def origin_constraints(name: str, phase: Phase) -> list[Constraint]:
    """Fix the floating origin of a polar space group.

    Along a direction v left invariant by every rotation of the point group
    (the c axis of P3, the b axis of P2₁, …) the origin is arbitrary, so a
    common shift of all atoms along v changes nothing: the sum of the site
    coordinates along v is held (IT Vol. A, §8.1 on polar groups) — when every
    such coordinate is refined; a fixed one already pins the origin.
    """
    rots = phase.space_group.point_group_rotations
    if any((r == -np.eye(3, dtype=int)).all() for r in rots):
        return []
    rows = np.concatenate([r - np.eye(3) for r in rots])
    _, sv, vt = np.linalg.svd(rows)
    free = vt[int(np.sum(sv > 1e-8)) :]
    out = []
    for v in free:
        coeffs: dict[str, float] = {}
        rhs = 0.0
        for s in phase.sites:
            stab = phase.space_group.site_stabilizer(np.asarray(s.xyz), tol=1e-3)
            rot = np.concatenate([phase.space_group.rotations[i] - np.eye(3) for i in stab])
            if np.abs(rot @ v).max() > 1e-8:
                continue  # this site cannot move along v
            for k, c in zip("xyz", v, strict=True):
                if abs(c) > 1e-12:
                    key = _site(name, s.label, k)
                    coeffs[key] = coeffs.get(key, 0.0) + float(c)
            rhs += float(v @ np.asarray(s.xyz))
        if coeffs:
            out.append(
                Constraint(coeffs, rhs, "origin of a polar space group", only_if_all_refined=True)
            )
    return out
