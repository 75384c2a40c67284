"""Refinement results: values ± esd, R factors, QPA, R_Bragg, correlations, curves.

Agreement factors follow physics.md §7 (GSAS-II reports the same set):

* Rp = Σ|yo − yc| / Σ yo;  Rwp = sqrt(Σ w (yo − yc)² / Σ w yo²);
* Rexp = sqrt((N − P) / Σ w yo²);  GOF = Rwp / Rexp = sqrt(χ²_ν);
* the "background-subtracted" variants use yo − yb in the denominators;
* R_Bragg per phase from Rietveld-partitioned intensities (Rietveld 1969),
  I_obs,k = I_calc,k Σ_i φ_ik (yo_i − yb_i)/(yc_i − yb_i);
* weight fractions W_p = S_p (ZMV)_p / Σ S_i (ZMV)_i (Hill & Howard 1987), their esds
  from the covariance of the scales (ZMV held exact).

JSON schema (``"schema": "xtal.result/1"``): top-level numbers ``rwp``, ``rp``,
``rexp``, ``gof``, ``chi2``, ``rwp_background_subtracted``,
``rp_background_subtracted``, ``n_points``, ``n_parameters``; ``phases.<name>``
with ``cell.{a,b,c,alpha,beta,gamma,volume}``, ``weight_fraction``, ``r_bragg``,
``scale`` and ``sites.<label>.{x,y,z,occ,biso}``, each ``{"value": v, "esd": e}``
(esd null when not refined), plus ``structure`` (enough to rebuild the phase);
``parameters.<dot.path>`` likewise; ``correlations`` (pairs with |ρ| > 0.9),
``stages``, ``warnings``, ``stopped`` (null or the reason), ``instrument``,
``curves`` (x, observed, calculated, background, sigma, and each phase) and
``reflections`` (per phase: hkl, 2θ, I_calc, I_obs).  Amounts (additions within
``xtal.result/1``): ``fractions`` (what the fractions are of), ``amorphous`` and per
phase ``weight_fraction_of_sample`` (with an internal standard, of the original
sample), ``crystallinity`` (from Bragg and halo areas), ``internal_standard``; null
when not determined.  Engine-neutral: nothing in it refers to how a value was computed.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xtal.crystal.cell import Cell
from xtal.crystal.phase import Phase, Site
from xtal.crystal.spacegroup import SpaceGroup
from xtal.diffraction.instrument import Instrument
from xtal.errors import InputError
from xtal.util.esd import format_esd

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

SCHEMA = "xtal.result/1"


@dataclass(frozen=True)
class Value:
    """A number and its standard uncertainty (None when not refined)."""

    value: float
    esd: float | None = None

    def __str__(self) -> str:
        return format_esd(self.value, self.esd)

    def to_json(self) -> dict[str, float | None]:
        return {"value": _num(self.value), "esd": _num(self.esd)}

    @classmethod
    def from_json(cls, d: dict) -> Value:
        return cls(float("nan") if d["value"] is None else d["value"], d.get("esd"))


@dataclass
class PhaseResult:
    """What a refinement says about one phase."""

    name: str
    phase: Phase
    cell: dict[str, Value]
    scale: Value
    weight_fraction: Value
    r_bragg: float
    sites: dict[str, dict[str, Value]]
    reflections: dict[str, list] = field(default_factory=dict)
    weight_fraction_of_sample: Value | None = None  # with an internal standard

    @property
    def is_le_bail(self) -> bool:
        """A Le Bail phase: intensities extracted (``reflections['i_obs']``), no structure.

        Its atoms, if it had any, are not used, so it has no sites and no weight fraction.
        """
        return not self.phase.sites

    def to_json(self) -> dict[str, Any]:
        return {
            "formula": self.phase.formula,
            "space_group": self.phase.space_group.symbol,
            "crystal_system": self.phase.space_group.crystal_system,
            "cell": {k: v.to_json() for k, v in self.cell.items()},
            "scale": self.scale.to_json(),
            "weight_fraction": self.weight_fraction.to_json(),
            "weight_fraction_of_sample": (
                None
                if self.weight_fraction_of_sample is None
                else self.weight_fraction_of_sample.to_json()
            ),
            "r_bragg": {"value": _num(self.r_bragg), "esd": None},
            "sites": {lab: {k: v.to_json() for k, v in d.items()} for lab, d in self.sites.items()},
            "structure": phase_to_json(self.phase),
            "reflections": self.reflections,
        }

    @classmethod
    def from_json(cls, name: str, d: dict) -> PhaseResult:
        return cls(
            name=name,
            phase=phase_from_json(d["structure"]),
            cell={k: Value.from_json(v) for k, v in d["cell"].items()},
            scale=Value.from_json(d["scale"]),
            weight_fraction=Value.from_json(d["weight_fraction"]),
            r_bragg=d["r_bragg"]["value"],
            sites={
                lab: {k: Value.from_json(v) for k, v in s.items()} for lab, s in d["sites"].items()
            },
            reflections=d.get("reflections", {}),
            weight_fraction_of_sample=(
                None
                if d.get("weight_fraction_of_sample") is None
                else Value.from_json(d["weight_fraction_of_sample"])
            ),
        )


@dataclass
class Curves:
    """Observed, calculated, background and per-phase curves on the fitted points."""

    x: np.ndarray
    observed: np.ndarray
    calculated: np.ndarray
    background: np.ndarray
    sigma: np.ndarray
    phases: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def difference(self) -> np.ndarray:
        return self.observed - self.calculated

    def to_json(self) -> dict[str, Any]:
        return {
            "x": self.x.tolist(),
            "observed": self.observed.tolist(),
            "calculated": self.calculated.tolist(),
            "background": self.background.tolist(),
            # σ = inf (weight 0, Pattern.esd) is written as null
            "sigma": [v if np.isfinite(v) else None for v in self.sigma.tolist()],
            "phases": {k: v.tolist() for k, v in self.phases.items()},
        }

    @classmethod
    def from_json(cls, d: dict) -> Curves:
        arr = np.asarray
        return cls(
            arr(d["x"], float),
            arr(d["observed"], float),
            arr(d["calculated"], float),
            arr(d["background"], float),
            np.array([np.inf if v is None else v for v in d["sigma"]], float),
            {k: arr(v, float) for k, v in d.get("phases", {}).items()},
        )


@dataclass
class Result:
    """Everything a refinement produced (see the module docstring for the JSON schema)."""

    rwp: float
    rp: float
    rexp: float
    gof: float
    chi2: float
    rwp_background_subtracted: float
    rp_background_subtracted: float
    n_points: int
    n_parameters: int
    parameters: dict[str, Value]
    phases: dict[str, PhaseResult]
    instrument: Instrument
    curves: Curves
    correlations: list[tuple[str, str, float]] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stopped: str | None = None
    recipe: str = ""
    data_source: str | None = None
    engine: str = "xtal"
    created: str = ""
    xtal_version: str = ""
    amorphous: Value | None = None  # of the original sample, from an internal standard
    crystallinity: Value | None = None  # Bragg / (Bragg + halo) areas
    internal_standard: dict[str, Any] | None = None  # phase, weight_fraction, esd

    # -- convenience --------------------------------------------------------------------
    def value(self, name: str) -> Value:
        """The value ± esd of parameter ``name``."""
        try:
            return self.parameters[name]
        except KeyError:
            raise KeyError(f"no parameter {name}") from None

    @property
    def refined_phases(self) -> dict[str, Phase]:
        """The refined structure of each phase."""
        return {n: p.phase for n, p in self.phases.items()}

    # -- views (notebooks: xtal.refine.result_views) -----------------------------------------
    def _repr_html_(self) -> str:
        """A compact table: R factors, each phase's cell, wt% and R_Bragg, the amounts."""
        from xtal.refine.result_views import result_html

        return result_html(self)

    def plot(self, title: str | None = None) -> Figure:
        """The Rietveld figure (the drawing of ``fit.png``) as a matplotlib Figure."""
        from xtal.refine.result_views import result_figure

        return result_figure(self, title)

    def to_dataframe(self, table: str = "parameters") -> pd.DataFrame:
        """A pandas table: ``"parameters"`` (value, esd, refined), ``"phases"``, ``"sites"``
        or ``"reflections"`` (:func:`xtal.refine.result_views.result_dataframe`)."""
        from xtal.refine.result_views import result_dataframe

        return result_dataframe(self, table)

    # -- JSON ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        inst = asdict(self.instrument)
        return {
            "schema": SCHEMA,
            "engine": self.engine,
            "xtal_version": self.xtal_version,
            "created": self.created,
            "recipe": self.recipe,
            "data_source": self.data_source,
            "rwp": _num(self.rwp),
            "rp": _num(self.rp),
            "rexp": _num(self.rexp),
            "gof": _num(self.gof),
            "chi2": _num(self.chi2),
            "rwp_background_subtracted": _num(self.rwp_background_subtracted),
            "rp_background_subtracted": _num(self.rp_background_subtracted),
            "n_points": self.n_points,
            "n_parameters": self.n_parameters,
            "stopped": self.stopped,
            "warnings": list(self.warnings),
            "stages": self.stages,
            "correlations": [{"a": a, "b": b, "rho": _num(r)} for a, b, r in self.correlations],
            "phases": {n: p.to_json() for n, p in self.phases.items()},
            "parameters": {n: v.to_json() for n, v in self.parameters.items()},
            "instrument": inst,
            "curves": self.curves.to_json(),
            "fractions": FRACTIONS_NOTE,
            "amorphous": None if self.amorphous is None else self.amorphous.to_json(),
            "crystallinity": None if self.crystallinity is None else self.crystallinity.to_json(),
            "internal_standard": self.internal_standard,
        }

    def dumps(self) -> str:
        """JSON text (strict: no NaN): indented, each long list of numbers on one line."""
        return dumps_indented(self.to_json())

    @classmethod
    def from_json(cls, d: dict[str, Any], source: str | None = None) -> Result:
        if d.get("schema") != SCHEMA:
            raise InputError(
                f"not an xtal result (schema {d.get('schema')!r}, expected {SCHEMA})", source
            )
        try:
            return cls(
                rwp=d["rwp"],
                rp=d["rp"],
                rexp=d["rexp"],
                gof=d["gof"],
                chi2=d["chi2"],
                rwp_background_subtracted=d["rwp_background_subtracted"],
                rp_background_subtracted=d["rp_background_subtracted"],
                n_points=d["n_points"],
                n_parameters=d["n_parameters"],
                parameters={n: Value.from_json(v) for n, v in d["parameters"].items()},
                phases={n: PhaseResult.from_json(n, p) for n, p in d["phases"].items()},
                instrument=Instrument(**d["instrument"]),
                curves=Curves.from_json(d["curves"]),
                correlations=[(c["a"], c["b"], c["rho"]) for c in d.get("correlations", [])],
                stages=d.get("stages", []),
                warnings=d.get("warnings", []),
                stopped=d.get("stopped"),
                recipe=d.get("recipe", ""),
                data_source=d.get("data_source"),
                engine=d.get("engine", "xtal"),
                created=d.get("created", ""),
                xtal_version=d.get("xtal_version", ""),
                amorphous=_value(d.get("amorphous")),
                crystallinity=_value(d.get("crystallinity")),
                internal_standard=d.get("internal_standard"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"result file is incomplete or corrupt ({exc})", source) from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Result:
        """Read a ``result.json`` (or the directory holding one)."""
        p = Path(path)
        if p.is_dir():
            p = p / "result.json"
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"cannot read result: {exc.strerror}", p) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"result file is not valid JSON: {exc}", p) from None
        return cls.from_json(data, str(p))

    def save(self, path: str | os.PathLike[str], force: bool = False) -> Path:
        """Write ``result.json`` atomically."""
        from xtal.util.files import atomic_write, check_writable

        return atomic_write(check_writable(path, force), self.dumps())


def _value(d: dict | None) -> Value | None:
    return None if d is None else Value.from_json(d)


FRACTIONS_NOTE = (
    "phases.<name>.weight_fraction: of the crystalline part (Hill & Howard, sums to 1); "
    "weight_fraction_of_sample and amorphous: of the original sample, from an internal "
    "standard (standard removed); crystallinity: Bragg / (Bragg + halo) areas"
)


def _num(v: float | None) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def phase_to_json(phase: Phase) -> dict[str, Any]:
    """Enough of a phase to rebuild it."""
    return {
        "name": phase.name,
        "cell": list(phase.cell.parameters),
        "space_group": {
            "symbol": phase.space_group.symbol,
            "number": phase.space_group.number,
            "operations": list(phase.space_group.operations),
        },
        "sites": [
            {
                "label": s.label,
                "element": s.element,
                "xyz": list(s.xyz),
                "occupancy": s.occupancy,
                "b_iso": s.b_iso,
                "u_aniso": None if s.u_aniso is None else list(s.u_aniso),
                "wyckoff": s.wyckoff,
                "multiplicity": s.multiplicity,
                "site_symmetry": s.site_symmetry,
            }
            for s in phase.sites
        ],
        "provenance": phase.provenance,
        "source": phase.source,
    }


def phase_from_json(d: dict[str, Any]) -> Phase:
    """Inverse of :func:`phase_to_json`."""
    sg = d["space_group"]
    group = SpaceGroup(sg["symbol"], sg["number"], tuple(sg["operations"]))
    sites = tuple(
        Site(
            s["label"],
            s["element"],
            tuple(s["xyz"]),
            s["occupancy"],
            s["b_iso"],
            None if s.get("u_aniso") is None else tuple(s["u_aniso"]),
            s.get("wyckoff", ""),
            s.get("multiplicity", 0),
            s.get("site_symmetry", ""),
        )
        for s in d["sites"]
    )
    return Phase(
        d["name"], Cell(*d["cell"]), group, sites, d.get("provenance", ""), d.get("source")
    )


def dumps_indented(value: Any, long: int = 16) -> str:
    """``json.dumps(value, indent=1, allow_nan=False)`` with every list of more than ``long``
    numbers written on one line: the same JSON value, easier to read, and quicker (the
    json module encodes in Python when indenting; the lists go through its C encoder:
    a lab pattern's curves took 0.05 s).
    """
    arrays: list[str] = []

    def swap(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            if len(v) > long and all(
                isinstance(x, int | float) and not isinstance(x, bool) for x in v
            ):
                arrays.append(json.dumps(v, allow_nan=False))
                return f"\x00{len(arrays) - 1}\x00"  # a placeholder, swapped back below
            return [swap(x) for x in v]
        return v

    text = json.dumps(swap(value), indent=1, allow_nan=False)
    if text.count("\\u0000") != 2 * len(arrays):  # a NUL in some text: no placeholders
        return json.dumps(value, indent=1, allow_nan=False)
    return re.sub(r'"\\u0000(\d+)\\u0000"', lambda m: arrays[int(m.group(1))], text)
