"""Refinement strategies as TOML recipes (``refinements/*.toml``).

A recipe is a list of stages, each naming (with shell wildcards) what it adds
to the refinement, how many cycles it may take and when it has converged;
stages are cumulative unless a stage says ``replace = true``.  A recipe may
also set the background (Chebyshev terms, amorphous halos), constraints and
restraints, and preferred orientation or sample broadening per phase.

Example::

    name = "example"
    [background]
    chebyshev = 6
    [[background.halo]]
    position = 30.0      # degrees 2θ
    fwhm = 10.0          # degrees
    constraints = ["phases.*.sites.B1.occ + phases.*.sites.B2.occ = 2/3"]
    [[restraint]]
    phase = "Na3BS3-trigonal"
    sites = ["B1", "S1"]
    distance = 1.81
    sigma = 0.02
    [[restraint]]            # wildcards: every B*–S* pair closer than `within` Å
    phase = "{ordered}"      # in the starting model
    sites = ["B*", "S*"]
    distance = 1.81
    within = 2.1
    [[stage]]
    name = "scale and background"
    refine = ["phases.*.scale", "background.*"]
    cycles = 5
    tolerance = 1e-4

Names are engine-neutral dot paths (see :mod:`xtal.refine.parameters`), so the
same recipe can drive another engine.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from xtal.diffraction.fcj import DEFAULT_FCJ, check_fcj
from xtal.errors import InputError
from xtal.refine.amorphous import InternalStandard
from xtal.refine.roles import Role, parse_formula


@dataclass(frozen=True)
class Stage:
    """One stage of a recipe."""

    name: str
    refine: tuple[str, ...]
    cycles: int = 10
    tolerance: float = 1e-4
    replace: bool = False
    partial_occupancy_only: bool = False


@dataclass(frozen=True)
class HaloStart:
    """Start values of an amorphous halo."""

    position: float
    fwhm: float = 10.0
    lorentz_fraction: float = 0.0


@dataclass(frozen=True)
class RestraintSpec:
    """A distance restraint as written in a recipe (phase and sites may be wildcards).

    With wildcard sites, ``within`` (Å) is required: every pair of matching sites whose
    shortest distance in the starting model is at most ``within`` is restrained.
    """

    phase: str
    site1: str
    site2: str
    distance: float
    sigma: float
    within: float | None = None


@dataclass(frozen=True)
class Recipe:
    """A refinement strategy."""

    name: str
    stages: tuple[Stage, ...]
    description: str = ""
    chebyshev: int = 6
    halos: tuple[HaloStart, ...] = ()
    constraints: tuple[str, ...] = ()
    restraints: tuple[RestraintSpec, ...] = ()
    phase_options: dict = field(default_factory=dict)
    source: str | None = None
    fcj: str = DEFAULT_FCJ  # axial-divergence quadrature, "fast" or "exact" (xtal.diffraction.fcj)
    roles: dict[str, Role] = field(default_factory=dict)  # see xtal.refine.roles
    composition: str = "fixed"  # occupancies keep the formula (xtal.refine.composition)
    internal_standard: InternalStandard | None = None  # [internal_standard] phase, weight_percent
    cell_search: float = 0.0  # ± relative span searched for each phase's cell before stage 1


def shipped_recipes() -> dict[str, Path]:
    """Recipes shipped in ``refinements/`` (name → path)."""
    out = {}
    for base in _recipe_dirs():
        for p in sorted(base.glob("*.toml")):
            out.setdefault(p.stem, p)
    return out


def _recipe_dirs() -> list[Path]:
    dirs = []
    try:
        dirs.append(Path(str(resources.files("xtal.recipes"))))
    except ModuleNotFoundError:
        pass
    dirs.append(Path(__file__).resolve().parents[2] / "refinements")
    return [d for d in dirs if d.is_dir()]


def load_recipe(name_or_path: str | os.PathLike[str] | None) -> Recipe:
    """Read a recipe from a TOML file or by shipped name (``standard``, ``na3bs3``)."""
    if name_or_path is None:
        name_or_path = "standard"
    path = Path(name_or_path)
    if not path.exists():
        shipped = shipped_recipes()
        key = str(name_or_path).removesuffix(".toml")
        if key not in shipped:
            raise InputError(
                f"no recipe file '{name_or_path}' and no shipped recipe of that name "
                f"(shipped: {', '.join(shipped) or 'none'})"
            )
        path = shipped[key]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read recipe: {exc.strerror}", path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid TOML: {exc}", path) from None
    if "base" in data:
        return _derived(data, path)
    return parse_recipe(data, str(path))


def _derived(data: dict, path: Path) -> Recipe:
    """A recipe written as changes to another: ``base`` (a shipped name or a path relative
    to this file), an optional ``name``/``description``, and ``[substitute]`` pairs that
    replace parameter patterns in every stage (e.g. the zero for the displacement)."""
    from dataclasses import replace

    base_ref = str(data["base"])
    near = path.parent / base_ref
    base = load_recipe(near if near.is_file() else base_ref)
    subs = data.get("substitute", {})
    if not isinstance(subs, dict) or not all(isinstance(v, str) for v in subs.values()):
        raise InputError("[substitute] must map parameter patterns to parameter patterns", path)
    unknown = set(data) - {"base", "name", "description", "substitute"}
    if unknown:
        raise InputError(
            f"a recipe with 'base' may only set name, description and [substitute] "
            f"(found {', '.join(sorted(unknown))})",
            path,
        )
    used = {k for st in base.stages for k in st.refine if k in subs}
    if set(subs) - used:
        missing = ", ".join(sorted(set(subs) - used))
        raise InputError(f"[substitute] names {missing}, which no stage of {base.name} refines",
                         path)
    stages = tuple(
        replace(st, refine=tuple(subs.get(k, k) for k in st.refine)) for st in base.stages
    )
    return replace(
        base,
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", base.description)),
        stages=stages,
        source=str(path),
    )


def parse_recipe(data: dict, source: str | None = None) -> Recipe:
    """Build a :class:`Recipe` from parsed TOML."""
    where = source
    try:
        stages_raw = data["stage"]
    except KeyError:
        raise InputError("recipe has no [[stage]] tables", where) from None
    if not isinstance(stages_raw, list) or not stages_raw:
        raise InputError("recipe has no [[stage]] tables", where)
    stages = []
    for i, st in enumerate(stages_raw, 1):
        refine = st.get("refine", [])
        if isinstance(refine, str):
            refine = [refine]
        if not isinstance(refine, list) or not all(isinstance(r, str) for r in refine):
            raise InputError(f"stage {i}: 'refine' must be a list of parameter names", where)
        cycles = st.get("cycles", 10)
        tol = st.get("tolerance", 1e-4)
        if not isinstance(cycles, int) or cycles < 1:
            raise InputError(f"stage {i}: 'cycles' must be a positive integer", where)
        if not isinstance(tol, int | float) or tol <= 0:
            raise InputError(f"stage {i}: 'tolerance' must be a positive number", where)
        stages.append(
            Stage(
                str(st.get("name", f"stage {i}")),
                tuple(refine),
                cycles,
                float(tol),
                bool(st.get("replace", False)),
                bool(st.get("partial_occupancy_only", False)),
            )
        )
    try:
        return _parse(data, stages, where, source)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"recipe entry missing or not a number: {exc}", where) from None


def _parse(data: dict, stages: list, where: str | None, source: str | None) -> Recipe:
    bg = data.get("background", {})
    halos = tuple(
        HaloStart(
            float(h["position"]), float(h.get("fwhm", 10.0)), float(h.get("lorentz_fraction", 0.0))
        )
        for h in bg.get("halo", [])
    )
    restraints = []
    for r in data.get("restraint", []):
        sites = r.get("sites", [])
        if len(sites) != 2:
            raise InputError('a restraint needs \'sites = ["A", "B"]\'', where)
        within = r.get("within")
        if within is None and any(c in str(s) for s in sites for c in "*?["):
            raise InputError(
                f"restraint {sites[0]}–{sites[1]}: wildcard sites need 'within' (Å), the "
                "largest starting distance of a restrained pair", where)
        restraints.append(
            RestraintSpec(
                str(r.get("phase", "*")),
                sites[0],
                sites[1],
                float(r["distance"]),
                float(r.get("sigma", 0.02)),
                None if within is None else float(within),
            )
        )
    cons = data.get("constraints", [])
    if not isinstance(cons, list) or not all(isinstance(c, str) for c in cons):
        raise InputError("'constraints' must be a list of strings", where)
    return Recipe(
        name=str(data.get("name", Path(source).stem if source else "recipe")),
        stages=tuple(stages),
        description=str(data.get("description", "")),
        chebyshev=int(bg.get("chebyshev", 6)),
        halos=halos,
        constraints=tuple(cons),
        restraints=tuple(restraints),
        phase_options=dict(data.get("phase", {})),
        source=source,
        fcj=_fcj(data.get("fcj", DEFAULT_FCJ), where),
        roles=_roles(data.get("role", {}), where),
        composition=_composition(data.get("composition", "fixed"), where),
        internal_standard=_standard(data.get("internal_standard"), where),
        cell_search=_cell_search(data.get("cell_search", 0.0), where),
    )


def _cell_search(value: object, where: str | None) -> float:
    if not isinstance(value, int | float) or not 0 <= value <= 0.1:
        raise InputError("'cell_search' must be a relative span between 0 and 0.1", where)
    return float(value)


def _standard(raw: object, where: str | None) -> InternalStandard | None:
    """``[internal_standard] phase = "Si_standard", weight_percent = 10, esd_percent = 0.05``."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or "phase" not in raw or "weight_percent" not in raw:
        raise InputError("[internal_standard] needs phase and weight_percent", where)
    wt, esd = float(raw["weight_percent"]), float(raw.get("esd_percent", 0))
    return InternalStandard(str(raw["phase"]), wt / 100, esd / 100)


def _composition(value: object, where: str | None) -> str:
    if value not in ("fixed", "free"):
        raise InputError(f'\'composition\' must be "fixed" or "free", not {value!r}', where)
    return str(value)


def _roles(raw: object, where: str | None) -> dict[str, Role]:
    if not isinstance(raw, dict):
        raise InputError("'role' must be a table of [role.<name>] tables", where)
    out = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            raise InputError(f"[role.{name}] must be a table", where)
        formula = str(spec.get("formula", ""))
        if formula:
            parse_formula(formula)
        sg = spec.get("space_group")
        if sg is not None and (not isinstance(sg, int) or not 1 <= sg <= 230):
            raise InputError(f"[role.{name}] space_group must be an IT number 1–230", where)
        out[name] = Role(name, formula, sg, str(spec.get("description", "")))
    return out


def _fcj(value: object, where: str | None) -> str:
    """The recipe's FCJ quadrature, "fast" or "exact" (Finger, Cox & Jephcoat 1994)."""
    return check_fcj(value, where)
