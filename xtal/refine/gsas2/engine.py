"""GSAS-II behind xtal's engine seam: set up, refine stage by stage, report in xtal's terms.

The project is built in a scratch directory by a worker process
(:mod:`xtal.refine.gsas2.worker`); values cross the seam as xtal's dot paths, in
xtal's units (:mod:`xtal.refine.gsas2.names`).  The covariance of xtal's parameters
is GSAS-II's covariance (already × reduced χ², ``GSASIIstrMain.RefineCore``)
carried through the Jacobian of the conversion: C_xtal = J C_GSAS-II Jᵀ, with J
including GSAS-II's own constraint relations (dependent = M · independent).
"""

from __future__ import annotations

import shutil
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from xtal.refine.gsas2 import constraints as gcons
from xtal.refine.gsas2 import plan
from xtal.refine.gsas2.client import Worker
from xtal.refine.gsas2.names import CELL_KEYS, FWHM_PER_SIGMA, NO_SIZE, Layout
from xtal.refine.gsas2.seam import EngineOutput, PeakArrays, StageReport
from xtal.refine.parameters import Constraint

Progress = Callable[[str, int, float], None]
FILES = ("gsas2.gpx", "gsas2.lst", "gsas2.log")


class GsasEngine:
    """GSAS-II (via ``GSASII.GSASIIscriptable``) as a refinement engine.

    Parameters
    ----------
    files_to
        A directory that receives GSAS-II's project (``gsas2.gpx``), listing
        (``gsas2.lst``) and console log (``gsas2.log``) whenever :meth:`output` runs.
    """

    def __init__(self, files_to: str | Path | None = None) -> None:
        self.name = "GSAS-II"
        self.files_to = None if files_to is None else Path(files_to)
        self._worker: Worker | None = None
        self._problem = None
        self._layout: Layout | None = None
        self._g: dict[str, float] = {}
        self._constraints: list[Constraint] = []
        self._last: dict | None = None  # the last stage's covariance and refined names
        self._stale = True  # values changed since GSAS-II last calculated the pattern
        self._no_size: set[str] = set()  # phases without size broadening (see _sizes)

    # -- the seam -------------------------------------------------------------------------
    def setup(self, problem) -> list[str]:
        """Build the GSAS-II project; return the parameter paths it offers."""
        layout = plan.layout_of(problem)
        names = layout.offered()
        plan.check(problem, names)
        spec = plan.spec(problem, layout)
        self.close()
        worker = Worker()
        weakref.finalize(self, worker.close)
        self._worker = worker
        info = worker.call("start", workdir=str(worker.workdir), spec=spec)
        self.name = f"GSAS-II {info['version']}"
        self._problem, self._layout, self._g = problem, layout, dict(info["values"])
        self._no_size = {n for n in layout.phases if self.values()[f"phases.{n}.size"] <= 0}
        self._constraints = gcons.auto_constraints(problem)
        return names

    def constrain(self, constraints: Sequence[Constraint]) -> None:
        """Add linear constraints; refuse now (one line) what GSAS-II cannot express."""
        for c in constraints:
            for path in c.coefficients:
                gcons.linear(self.layout, self._g, path, c)
        self._constraints += list(constraints)

    def set_values(self, values: Mapping[str, float]) -> list[str]:
        """Warm start from xtal values; return the names this model does not have."""
        known = set(self.layout.offered())
        usable = {k: float(v) for k, v in values.items()
                  if k in known and v is not None and np.isfinite(v)}
        self._no_size -= {n for n in self.layout.phases if usable.get(f"phases.{n}.size", 0) > 0}
        new = self.layout.to_gsas(usable, self._g)
        if new:
            self.worker.call("set_values", g=new)
            self._g.update(new)
            self._stale = True
        return [k for k in values if k not in known]

    def values(self) -> dict[str, float]:
        """Every parameter's current value by dot path."""
        return self.layout.to_xtal(self._g)

    def run_stage(self, stage, progress: Progress | None = None) -> StageReport:
        """Refine ``stage.refine`` (dot paths) with GSAS-II.

        GSAS-II has no bounds during a fit; xtal keeps some quantities physical (SH/L,
        X, Y, B, size, microstrain ≥ 0; 0 ≤ occupancy ≤ 1).  A parameter that ends a
        GSAS-II refinement outside its bound is set to the bound and the stage is
        refined again without it, as an active bound leaves it in xtal's engine.
        """
        refine = list(stage.refine)
        at_bound: dict[str, float] = {}
        cycles, warnings = 0, []
        for _ in range(3):
            rep = self._refine(stage, [n for n in refine if n not in at_bound], progress)
            cycles += int(rep.get("cycles", 0))
            warnings += [f"GSAS-II: {m}" for m in _messages(rep) if rep["ok"]]
            out = plan.outside_bounds(self.values(), refine) if rep["ok"] else {}
            if not out:
                break
            warnings += [f"GSAS-II refined {n} to {self.values()[n]:.6g}; held at its bound "
                         f"{b:g} and the stage refined again" for n, b in out.items()]
            self.set_values(out)
            at_bound.update(out)
        rv = rep.get("rvals", {})
        return StageReport(
            stage.name,
            cycles=cycles,
            chi2_start=_chi2_start(rv),
            chi2=float(rv.get("chisq", float("nan"))),
            converged=bool(rv.get("converged", False)),
            stopped=None if rep["ok"] else f"GSAS-II: {_one_line(rep['msg']) or 'failed'}",
            warnings=warnings,
        )

    def _refine(self, stage, refine: list[str], progress: Progress | None) -> dict:
        """One GSAS-II refinement of the dot paths ``refine``."""
        flags, holds = plan.flags(self.layout, self._problem, refine)
        cons = [("h", [n]) for n in holds]
        cons += gcons.gsas_constraints(self.layout, self._g, self._constraints, refine)

        def relay(cycle: int, rwp: float) -> None:
            if progress is not None:
                progress(stage.name, cycle, rwp)

        self._sizes()
        rep = self.worker.call("refine", progress=relay, flags=flags, constraints=cons,
                               cycles=stage.cycles, tolerance=stage.tolerance)
        self._stale = not rep["ok"]
        self._sizes()
        self._last = {**rep, "refined": refine} if rep["ok"] else None
        return rep

    def output(self) -> EngineOutput:
        """Values, covariance, curves and peak lists of the current state."""
        problem, layout = self._problem, self.layout
        if self._stale:
            self.worker.call("compute")
            self._stale = False
            self._sizes()
        cur = self.worker.call("curves")  # GSAS-II's background includes a fixed one
        values = layout.to_xtal(self._g)
        refined, cov, fmap, n_free = self._covariance()
        yo, sigma = np.asarray(problem.pattern.y, float), np.asarray(problem.pattern.esd(), float)
        yc = cur["calculated"]
        peaks, hkl, mult = {}, {}, {}
        for name in layout.phases:
            refl = cur["reflections"][name]
            scale = values[f"phases.{name}.scale"]
            peaks[name] = _peaks(refl, scale, cur["wavelengths"], cur["ratio"],
                                 values["instrument.sh_l"])
            hkl[name] = refl[:, :3].astype(int)
            mult[name] = refl[:, 3].astype(int)
        self._copy_files()
        return EngineOutput(
            values=values, refined=refined, covariance=cov, x=cur["x"], observed=yo,
            sigma=sigma, calculated=yc, background=cur["background"],
            phase_curves={n: cur["phases"][n] for n in layout.phases},
            peaks=peaks, hkl=hkl, multiplicity=mult,
            phases={p.name: _refined_phase(p, values) for p in problem.phases},
            instrument=_refined_instrument(problem.instrument, values),
            n_free=n_free, chi2_pattern=float(np.sum(((yo - yc) / sigma) ** 2)),
            engine=self.name, free_map=fmap, fcj="gsas2",
        )

    # -- files and life cycle ---------------------------------------------------------------
    def save_gpx(self, path: str | Path) -> Path:
        """Save the GSAS-II project, with its pattern calculated, to ``path``."""
        if self._stale:
            self.worker.call("compute")
            self._stale = False
            self._sizes()
        self.worker.call("save", path=str(Path(path).absolute()))
        return Path(path)

    def mass_fractions(self) -> dict[str, tuple[float, float]]:
        """GSAS-II's own weight fractions (value, s.u.) after the last stage."""
        return self.worker.call("mass_fractions")

    def close(self) -> None:
        """End the GSAS-II process and remove its scratch directory."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def __enter__(self) -> GsasEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def worker(self) -> Worker:
        if self._worker is None:
            raise RuntimeError("the GSAS-II engine is not set up")
        return self._worker

    @property
    def layout(self) -> Layout:
        if self._layout is None:
            raise RuntimeError("the GSAS-II engine is not set up")
        return self._layout

    def _sizes(self) -> None:
        """Keep "no size broadening" as 10⁶ µm and read the values back.

        GSAS-II has no "no size broadening" and caps the size it stores after a
        refinement at 10 µm (``GSASIIstrIO.SetHistogramPhaseData``), which would add
        0.09/cosθ centidegree of Lorentzian width; a phase xtal gives no size
        broadening is set back to 10⁶ µm before every calculation.
        """
        if self._no_size:
            self.worker.call("set_values", g={
                f"{self.layout.pid(n)}:0:Size;i": NO_SIZE for n in self._no_size})
        self._g = dict(self.worker.call("values"))

    def _copy_files(self) -> None:
        if self.files_to is None:
            return
        self.files_to.mkdir(parents=True, exist_ok=True)
        self.worker.call("save", path=str((self.files_to / FILES[0]).absolute()))
        for name in FILES[1:]:
            src = self.worker.file(name)
            if src.exists():
                shutil.copyfile(src, self.files_to / name)

    def _covariance(self):
        """(refined paths, covariance, d(path)/d(free variable), number of free variables)."""
        last = self._last
        if last is None or not last.get("vary"):
            return [], None, None, 0
        vary, refined = last["vary"], last["refined"]
        dep = last["dependent"]
        support = sorted(set(vary) | set(dep))
        m = np.zeros((len(support), len(vary)))
        col = {v: j for j, v in enumerate(vary)}
        for i, name in enumerate(support):
            if name in col:
                m[i, col[name]] = 1.0
            for ind, coef in dep.get(name, {}).items():
                if ind in col:
                    m[i, col[ind]] += coef
        jac = self.layout.jacobian(self._g, refined, support) @ m
        cov = np.asarray(last["cov"], float)
        # a quantity symmetry holds (γ = 120° of a hexagonal cell) moves only by round-off
        values = self.layout.to_xtal(self._g)
        sd = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", jac, cov, jac), 0.0))
        held = sd <= 1e-9 * np.maximum(np.abs([values[n] for n in refined]), 1e-3)
        jac[held] = 0.0
        return refined, jac @ cov @ jac.T, jac, len(vary)


def _peaks(refl: np.ndarray, scale: float, lams: list[float], ratio: float,
           sh_l: float) -> PeakArrays:
    """xtal's peak list from a GSAS-II reflection list (unit xtal scale).

    GSAS-II's columns: 5 position (zero and shift included), 6 σ² (centideg²), 7 γ
    (centideg), 9 F_c², 11 the intensity factor (scale · m · pol · L / V …); its
    profiles integrate to 1 over centidegrees, so the area in counts × degrees is
    F_c² · factor / 100.  The Kα2 peak is drawn by GSAS-II at
    2θ + (360/π)(λ2 − λ1)/λ1 · tanθ with the Kα1 widths and ``ratio`` × the area.
    """
    n = len(refl)
    pos = refl[:, 5]
    area = refl[:, 9] * refl[:, 11] / 100.0 / scale if scale > 0 else np.zeros(n)
    fg = FWHM_PER_SIGMA * np.sqrt(np.maximum(refl[:, 6], 0.0)) / 100.0
    fl = refl[:, 7] / 100.0
    cols = [(pos, area, fg, fl, np.arange(n), np.zeros(n, int))]
    if len(lams) > 1 and ratio > 0:
        shift = 360.0 / np.pi * (lams[1] - lams[0]) / lams[0] * np.tan(np.radians(pos / 2.0))
        cols.append((pos + shift, area * ratio, fg, fl, np.arange(n), np.ones(n, int)))
    joined = [np.concatenate(c) for c in zip(*cols, strict=True)]
    return PeakArrays(*joined[:4], ref=joined[4].astype(int), line=joined[5].astype(int),
                      sh_l=float(sh_l))


def _refined_phase(phase, v: Mapping[str, float]):
    from xtal.crystal.cell import Cell

    pre = f"phases.{phase.name}."
    cell = Cell(*(v[pre + "cell." + k] for k in CELL_KEYS))
    sites = []
    for s in phase.sites:
        sp = f"{pre}sites.{s.label}."
        sites.append(replace(s, xyz=(v[sp + "x"], v[sp + "y"], v[sp + "z"]),
                             occupancy=min(max(v[sp + "occ"], 1e-9), 1.0),
                             b_iso=max(v[sp + "biso"], 0.0)))
    return phase.with_cell(cell).with_sites(tuple(sites))


def _refined_instrument(inst, v: Mapping[str, float]):
    keys = ("zero", "displacement", "U", "V", "W", "X", "Y", "Z")
    return replace(inst, sh_l=max(v["instrument.sh_l"], 0.0),
                   **{k: v[f"instrument.{k}"] for k in keys})


def _chi2_start(rv: dict) -> float:
    gof0 = rv.get("GOF0")
    if gof0 is None:
        return float("nan")
    return float(gof0) ** 2 * (rv.get("Nobs", 0) - rv.get("Nvars", 0))


def _messages(rep: dict) -> list[str]:
    out = [_one_line(m) for m in str(rep.get("msg", "")).split("\n") if m.strip()]
    return [m for m in out if m]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]
