"""From xtal's refinement problem to GSAS-II's terms: project specification, flags, constraints.

Everything a GSAS-II run cannot express is refused here, in one line, before GSAS-II
starts: neutron data (not built in xtal), Bérar–Baldinozzi asymmetry (GSAS-II has
FCJ only), constraints on quantities that are not linear in GSAS-II's variables
(cell lengths, scales, halo widths), anisotropic displacement refinement.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence

import numpy as np

from xtal.errors import InputError
from xtal.refine.gsas2.names import (
    EIGHT_PI2,
    FWHM_PER_SIGMA,
    HIST,
    INSTRUMENT,
    NO_SIZE,
    NOT_IN_GSAS2,
    Layout,
)

_PROFILE = ("U", "V", "W", "X", "Y", "Z")


def layout_of(problem) -> Layout:
    """Where the problem's quantities live in the GSAS-II project."""
    return Layout(
        tuple(p.name for p in problem.phases),
        tuple(tuple(s.label for s in p.sites) for p in problem.phases),
        int(problem.recipe.chebyshev),
        tuple(float(h.lorentz_fraction) for h in problem.recipe.halos),
    )


def check(problem, names: list[str]) -> None:
    """Refuse what GSAS-II cannot do, before anything runs (one-line InputError)."""
    inst = problem.instrument
    if inst.radiation != "xray":
        raise InputError("the GSAS-II engine is set up for X-ray data only")
    if getattr(problem, "le_bail", None):
        raise InputError("Le Bail extraction (--le-bail) runs with the native engine only; "
                         "GSAS-II's own Le Bail mode is not wired in")
    if inst.berar_baldinozzi is not None:
        raise InputError("GSAS-II has no Bérar–Baldinozzi asymmetry (instrument asy1–asy4): "
                         "use the FCJ SH/L instead, or the native engine")
    for stage in problem.recipe.stages:
        for pat in stage.refine:
            hits = [n for n in names if fnmatch.fnmatchcase(n, pat)]
            if hits and all(n in NOT_IN_GSAS2 for n in hits):
                raise InputError(f"recipe stage '{stage.name}' refines {pat}, which GSAS-II "
                                 f"does not have (Bérar–Baldinozzi asymmetry)")


def spec(problem, layout: Layout) -> dict:
    """The plain specification the worker builds the GSAS-II project from."""
    pat, inst = problem.pattern, problem.instrument
    fixed = problem.fixed_background
    terms = problem.phase_terms
    return {
        "x": np.asarray(pat.x, float),
        "y": np.asarray(pat.y, float),
        "sigma": np.asarray(pat.esd(), float),
        "fixed_background": None if fixed is None else np.asarray(fixed, float),
        "instrument": {
            "lam1": inst.lam1, "lam2": inst.lam2 if inst.ratio > 0 else None, "ratio": inst.ratio,
            "polarization": inst.polarization, "zero": inst.zero, "U": inst.U, "V": inst.V,
            "W": inst.W, "X": inst.X, "Y": inst.Y, "Z": inst.Z, "SH/L": inst.sh_l,
            "radius": inst.radius, "displacement": inst.displacement,
        },
        "background": {
            "n_chebyshev": layout.n_chebyshev,
            "peaks": [_halo_start(h) for h in problem.recipe.halos],
        },
        "phases": [_phase_spec(p, terms.get(p.name)) for p in problem.phases],
        "restraints": [_restraint_spec(problem, r) for r in problem.restraints],
    }


def _halo_start(h) -> list[float]:
    """[position, intensity per centidegree, σ² (centideg²), γ (centideg)] of a halo."""
    lf = float(h.lorentz_fraction)
    sig = (100.0 * h.fwhm * (1.0 - lf) / FWHM_PER_SIGMA) ** 2
    return [float(h.position), 100.0, sig, 100.0 * h.fwhm * lf]


def _phase_spec(phase, terms) -> dict:
    sg = phase.space_group
    size = getattr(terms, "size", None) or 0.0
    return {
        "name": phase.name,
        "symbol": _gsas2_symbol(sg),
        "operations": [(r.tolist(), t.tolist()) for r, t in zip(sg.rotations, sg.translations,
                                                                   strict=True)],
        "cell": list(phase.cell.parameters),
        "atoms": [
            {"label": s.label, "element": s.element, "xyz": list(s.xyz), "occ": s.occupancy,
             "uiso": s.b_iso / EIGHT_PI2, "uaniso": s.u_aniso}
            for s in phase.sites
        ],
        "fraction": 1.0,
        "po_axis": getattr(terms, "po_axis", None),
        "po_ratio": getattr(terms, "po_ratio", 1.0),
        "size": size if size > 0 else NO_SIZE,
        "microstrain": getattr(terms, "microstrain", 0.0),
        "mix": getattr(terms, "mix", 1.0),
    }


def _gsas2_symbol(sg) -> str:
    """The symbol with its spaces: GSAS-II splits a symbol at spaces and refuses ``Fddd``
    (as a CIF may declare it); the setting is checked against the operators later."""
    if " " in sg.symbol.strip():
        return sg.symbol
    from xtal.crystal.spacegroup import SpaceGroup

    return SpaceGroup.from_operations(list(sg.operations)).symbol


def _restraint_spec(problem, r) -> dict:
    phase = next(p for p in problem.phases if p.name == r.phase)
    return {"phase": r.phase, "site1": r.site1, "site2": r.site2, "target": r.target,
            "sigma": r.sigma, "current": _shortest(phase, r.site1, r.site2)}


def _shortest(phase, a: str, b: str) -> float:
    """Shortest distance (Å) between site a and any image of site b."""
    from xtal.crystal.phase import orbit

    sa, sb = phase.site(a), phase.site(b)
    images = orbit(phase.space_group, sb.xyz)[1]
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])
    d = images[:, None, :] + shifts[None, :, :] - np.asarray(sa.xyz)
    cart = d.reshape(-1, 3) @ phase.cell.matrix
    dist = np.linalg.norm(cart, axis=1)
    return float(dist[dist > 1e-6].min())


# -- one stage -------------------------------------------------------------------------
def flags(layout: Layout, problem, refine: Sequence[str]) -> tuple[dict, list[str]]:
    """GSAS-II refinement flags for the dot paths ``refine``, and the holds they need.

    One GSAS-II flag often moves several quantities (all Chebyshev terms, all free
    coordinates of an atom, the whole cell): what the stage does not ask for is held.
    """
    want = set(refine)
    bad = sorted(want & set(NOT_IN_GSAS2))
    if bad:
        raise InputError(f"GSAS-II cannot refine {bad[0]} (Bérar–Baldinozzi asymmetry)")
    f: dict = {
        "instrument": [v for k, v in INSTRUMENT.items() if f"instrument.{k}" in want
                       and k != "displacement"],
        "sample": ["Shift"] if "instrument.displacement" in want else [],
        "background": False, "peaks": [], "phases": [],
    }
    holds: list[str] = []
    cheb = [i for i in range(layout.n_chebyshev) if f"background.chebyshev.{i}" in want]
    if cheb:
        f["background"] = True
        holds += [f"{HIST}Back;{i}" for i in range(layout.n_chebyshev) if i not in cheb]
    for i, lf in enumerate(layout.halo_lorentz):
        pre = f"background.halo.{i}."
        fw = pre + "fwhm" in want
        f["peaks"].append([pre + "position" in want, pre + "area" in want, fw, fw and lf > 0])
    for pid, phase in enumerate(problem.phases):
        pf, ph = _phase_flags(pid, phase, want)
        f["phases"].append(pf)
        holds += ph
    return f, holds


def _phase_flags(pid: int, phase, want: set[str]) -> tuple[dict, list[str]]:
    pre = f"phases.{phase.name}."
    cell = {k for k in ("a", "b", "c", "alpha", "beta", "gamma") if f"{pre}cell.{k}" in want}
    holds = _cell_holds(pid, phase, cell) if cell else []
    atoms = []
    for i, s in enumerate(phase.sites):
        sp = f"{pre}sites.{s.label}."
        xyz = {k for k in "xyz" if sp + k in want}
        flag = ("F" if sp + "occ" in want else "") + ("X" if xyz else "")
        if sp + "biso" in want:
            if s.u_aniso is not None:
                raise InputError(f"{sp}biso: anisotropic displacement refinement is not "
                                 f"mapped to GSAS-II")
            flag += "U"
        atoms.append(flag)
        if xyz:
            holds += [f"{pid}::dA{k}:{i}" for k in _coordinate_holds(phase, s, xyz)]
    out = {"cell": bool(cell), "atoms": atoms, "scale": pre + "scale" in want,
           "po": pre + "po.ratio" in want, "size": pre + "size" in want,
           "microstrain": pre + "microstrain" in want}
    return out, holds


def _cell_holds(pid: int, phase, asked: set[str]) -> list[str]:
    """GSAS-II refines the whole cell; hold the A terms of lengths the stage leaves out."""
    system = phase.space_group.crystal_system
    rhombo = phase.space_group.symbol.startswith("R") and abs(phase.cell.gamma - 120) > 1e-3
    free = {"cubic": {"a"}, "tetragonal": {"a", "c"}, "orthorhombic": {"a", "b", "c"},
            "trigonal": {"a", "alpha"} if rhombo else {"a", "c"}, "hexagonal": {"a", "c"},
            "monoclinic": {"a", "b", "c", "beta"}}.get(system, set("abc") | {"alpha", "beta",
                                                                               "gamma"})
    if free <= asked:
        return []
    lengths = {"a": 0, "b": 1, "c": 2}
    if system in ("cubic", "tetragonal", "orthorhombic", "hexagonal") or (
        system == "trigonal" and not rhombo
    ):
        return [f"{pid}::A{lengths[k]}" for k in sorted(free - asked)]
    raise InputError(f"phase {phase.name}: GSAS-II refines a {system} cell as a whole; "
                     f"refine all of {', '.join(sorted(free))} or none")


def _free_directions(phase, site) -> np.ndarray:
    """Rows spanning the directions the site symmetry lets the site move in."""
    sg = phase.space_group
    stab = sg.site_stabilizer(np.asarray(site.xyz), tol=1e-3)
    rows = np.concatenate([sg.rotations[i] - np.eye(3) for i in stab])
    _, sv, vt = np.linalg.svd(rows)
    return vt[int(np.sum(sv > 1e-8)):]


def _coordinate_holds(phase, site, asked: set[str]) -> list[str]:
    """Coordinates GSAS-II must hold so that the site moves only as xtal's engine moves it.

    xtal holds a coordinate that is not refined, and with it every coordinate the site
    symmetry ties to it ((x, x, x) with only x refined does not move).  GSAS-II refines
    the first free coordinate of each tied set (the pivots of the reduced row-echelon
    form of the free directions) and derives the others; a pivot whose direction
    touches a coordinate not asked for is held.
    """
    free = _free_directions(phase, site)
    holds = []
    for pivot, row in _rref(free):
        if any(abs(row[j]) > 1e-8 for j, k in enumerate("xyz") if k not in asked):
            holds.append("xyz"[pivot])
    return holds


def _rref(m: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(pivot column, row) of the reduced row-echelon form of ``m`` (rows)."""
    a = np.array(m, float)
    out: list[tuple[int, np.ndarray]] = []
    r = 0
    for col in range(a.shape[1] if a.size else 0):
        hits = [i for i in range(r, a.shape[0]) if abs(a[i, col]) > 1e-8]
        if not hits:
            continue
        a[[r, hits[0]]] = a[[hits[0], r]]
        a[r] /= a[r, col]
        for i in range(a.shape[0]):
            if i != r:
                a[i] -= a[i, col] * a[r]
        out.append((col, a[r].copy()))
        r += 1
    return out


def independent_axes(phase, site) -> set[str]:
    """Coordinates that the site symmetry leaves free on their own (x of (x, ¼, z) …)."""
    null = _free_directions(phase, site)
    out = set()
    for k, e in zip("xyz", np.eye(3), strict=True):
        if null.size and np.allclose(null.T @ (null @ e), e, atol=1e-8):
            out.add(k)
    return out


def outside_bounds(values: Mapping[str, float], refine: Sequence[str]) -> dict[str, float]:
    """Refined quantities past the bounds xtal keeps, with the bound each goes back to."""
    out = {}
    for n in refine:
        v = values[n]
        leaf = n.rsplit(".", 1)[-1]
        if leaf in ("sh_l", "X", "Y", "biso", "size", "microstrain", "area") and v < 0:
            out[n] = 0.0
        elif leaf == "occ" and not 0.0 <= v <= 1.0:
            out[n] = min(max(v, 0.0), 1.0)
    return out
