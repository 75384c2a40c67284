"""GSAS-II's own sequential refinement of a series, with the model of an xtal recipe.

The procedure is the one of GSAS-II's tutorial "Sequential refinement of multiple
datasets" (CuCr2O4 from 7 K to 300 K, AdvancedPhotonSource/GSAS-II-tutorials,
``SeqRefine/SequentialTutorial.htm``), driven through ``GSASIIscriptable`` in the
GSAS-II worker process (:mod:`xtal.refine.gsas2.worker`):

1. single fits on the first pattern, adding parameters step by step (here: the
   recipe's stages, each a GSAS-II refinement with the stage's cycle limit and
   tolerance, as ``--engine gsas2`` runs them);
2. the other patterns read in, with the first one's histogram and phase/histogram
   values copied to them (the tutorial's "Copy params" and "Copy data");
3. sequential passes (``G2strMain.SeqRefine``, one histogram after another, at most
   ``cycles`` cycles each, the tutorial's 10):

   * pass 1, "Copy results to next histogram" on: the histogram scale, the
     background and the cell as the hydrostatic strain terms D11, D22, D33 (GSAS-II
     refuses cell refinement in a sequential fit; the cell of a pattern is A + D);
   * pass 2, each pattern from its own pass-1 values: everything the recipe refines
     (the phase fractions in place of the histogram scale, every D term);
   * pass 3 and later: the tutorial's third pass adds atomic coordinates and U_iso;
     a model without them gets the same flags again (a pass towards convergence).

The model is xtal's in GSAS-II's terms (:mod:`xtal.refine.gsas2.plan`): the same
points, instrument (SH/L as xtal reads it), start values and parametrisation as
``--engine gsas2``, the histogram scale held at 1 while the phase fractions refine.
As for that engine, a phase without size broadening is set back to 10⁶ µm before
every step (GSAS-II caps the size it stores at 10 µm).
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError
from xtal.refine.gsas2 import plan
from xtal.refine.gsas2.names import CELL_KEYS, NO_SIZE
from xtal.refine.gsas2.session import Session, _Progress


@dataclass
class SequentialRun:
    """What GSAS-II's sequential refinement of a series gave.

    Attributes
    ----------
    engine
        ``"GSAS-II <version>"``.
    steps
        (step name, seconds in the worker) in order: building the project, each single
        fit, reading the other patterns, each sequential pass.
    seconds
        Wall time of the whole procedure, the worker's start included.
    rows
        label → ``{"rwp": fraction, "converged": bool, "cycles": int,
        "cells": {phase: {"a": (value, esd), …, "volume": (value, esd)}}}``, from the
        last pass.
    """

    engine: str
    steps: list[tuple[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    rows: dict[str, dict] = field(default_factory=dict)


def refine_sequential(
    patterns: Sequence[tuple[str, Pattern]],
    phases: Sequence[Phase],
    instrument: Instrument,
    recipe,
    *,
    two_theta_range: tuple[float, float] | None = None,
    passes: int = 3,
    cycles: int = 10,
) -> SequentialRun:
    """Refine a series (labels and patterns, in order) with GSAS-II's sequential refinement.

    Parameters
    ----------
    patterns
        (label, Pattern) in the order to refine them; the first gets the single fits.
    phases, instrument, recipe
        The model, as for :func:`xtal.refine.api.refine_values`.
    two_theta_range
        Refine only lo ≤ 2θ ≤ hi (the same points in every program).
    passes
        Sequential passes (the tutorial's three).
    cycles
        Maximum cycles per pattern in a sequential pass (the tutorial's 10).
    """
    from xtal.refine.api import make_problem
    from xtal.refine.gsas2.client import Worker

    t0 = time.perf_counter()
    problems = [make_problem(p, phases, instrument, recipe, two_theta_range=two_theta_range)
                for _, p in patterns]
    first = problems[0]
    layout = plan.layout_of(first)
    names = layout.offered()
    plan.check(first, names)
    stages = _stages(first, names)
    steps = [_single(layout, first, name, active, st) for name, active, st in stages]
    final = stages[-1][1]
    steps += [_pass(layout, first, final, k, cycles, first.recipe.stages[-1].tolerance)
              for k in range(passes)]
    others = [{"label": lab, "x": np.asarray(pr.pattern.x, float),
               "y": np.asarray(pr.pattern.y, float), "sigma": np.asarray(pr.pattern.esd(), float)}
              for (lab, _), pr in zip(patterns[1:], problems[1:], strict=True)]
    worker = Worker()
    try:
        info = worker.call("start", workdir=str(worker.workdir), spec=plan.spec(first, layout),
                           sequential={"first": patterns[0][0], "others": others})
        out = worker.call("run", steps=steps)
    finally:
        worker.close()
    return SequentialRun(f"GSAS-II {info['version']}", [("build project", info["seconds"])]
                         + out["steps"], time.perf_counter() - t0, out["rows"])


def _stages(problem, names: list[str]) -> list[tuple[str, list[str], object]]:
    """(stage name, cumulative dot paths, stage) of the recipe, roles and wildcards expanded."""
    from xtal.refine.roles import expand

    out: list[tuple[str, list[str], object]] = []
    active: list[str] = []
    for st in problem.recipe.stages:
        if st.replace:
            active = []
        for pat in st.refine:
            for text in expand(pat, problem.roles):
                active += [n for n in names if fnmatch.fnmatchcase(n, text) and n not in active]
        if not out or set(active) != set(out[-1][1]):
            out.append((st.name, list(active), st))
    return out


def _single(layout, problem, name: str, active: list[str], stage) -> dict:
    flags, holds = plan.flags(layout, problem, active)
    return {"name": f"single fit, first pattern: {name}", "kind": "single", "flags": flags,
            "holds": holds, "cycles": stage.cycles, "tolerance": stage.tolerance}


def _pass(layout, problem, final: list[str], k: int, cycles: int, tolerance: float) -> dict:
    """Sequential pass k (0-based): flags as the module docstring says."""
    refine = [n for n in final if _first_pass(n)] if k == 0 else final
    flags, holds = plan.flags(layout, problem, refine)
    if holds:
        raise InputError("GSAS-II's sequential refinement is run here without holds; this "
                         f"recipe needs {holds[0]} held")
    cell = any(f["cell"] for f in flags["phases"])
    for f in flags["phases"]:
        f["cell"] = False  # as the Dij terms of each histogram
        if k == 0:
            f["scale"] = False
    if k == 0:
        flags["sample"] = [*flags["sample"], "Scale"]
    what = "scale, background, D11 D22 D33" if k == 0 else "all the model's parameters"
    return {"name": f"sequential pass {k + 1} ({what})", "kind": "sequential", "flags": flags,
            "dij": ("axes" if k == 0 else "all") if cell else "none", "copy_next": k == 0,
            "cycles": cycles, "tolerance": tolerance}


def _first_pass(path: str) -> bool:
    """Refined in pass 1: scales, Chebyshev terms, halo areas, cells (the tutorial's choice)."""
    parts = path.split(".")
    return parts[-1] in ("scale", "area") or "cell" in parts[2:3] or "chebyshev" in parts


# -- in the worker process -----------------------------------------------------------------
class _SeqProgress(_Progress):
    """Counts the cycles of each histogram of a sequential refinement."""

    def __init__(self) -> None:
        super().__init__(None)
        self.current = ""
        self.per_hist: dict[str, int] = {}

    def SetTitle(self, title: str) -> None:  # noqa: N802 (GSAS-II's dialog interface)
        self.current = title

    def AdvanceCycle(self, cycle: int) -> None:  # noqa: N802
        if cycle >= 0:  # called with the 0-based number of the cycle just completed
            self.per_hist[self.current] = cycle + 1


class SeqSession(Session):
    """A GSAS-II project for a sequential refinement (built in the worker process)."""

    def __init__(self, spec: dict, workdir: str, first: str, others: list[dict]) -> None:
        t0 = time.perf_counter()
        super().__init__(spec, workdir)
        self.labels = {self.hist.name: first}
        self.others = others
        self.hists = [self.hist]
        self.no_size = [pid for pid, ph in enumerate(spec["phases"]) if ph["size"] >= NO_SIZE]
        self.instprm = self.workdir / "instrument.instprm"
        self.progress = _SeqProgress()
        self.seconds = time.perf_counter() - t0

    def run(self, steps: list[dict]) -> dict:
        """Every step in order; the time of each and the rows of the last pass."""
        times = []
        added = False
        for step in steps:
            if step["kind"] == "sequential" and not added:
                t0 = time.perf_counter()
                self._add_histograms()
                times.append((f"read the other {len(self.others)} patterns, copy values",
                              time.perf_counter() - t0))
                added = True
            t0 = time.perf_counter()
            self._reset_sizes()
            if step["kind"] == "single":
                rep = self.refine(step["flags"], [("h", [n]) for n in step["holds"]],
                                  step["cycles"], step["tolerance"])
                if not rep["ok"]:
                    raise RuntimeError(f"{step['name']}: {rep['msg']}")
            else:
                self._sequential(step)
            times.append((step["name"], time.perf_counter() - t0))
        return {"steps": times, "rows": self._rows()}

    def _add_histograms(self) -> None:
        """The other patterns as histograms with the first one's values (tutorial step IV)."""
        from xtal.refine.gsas2.project import _exact

        for o in self.others:
            path = self.workdir / f"{o['label']}.xye"
            np.savetxt(path, np.column_stack([o["x"], o["y"], o["sigma"]]), fmt="%.17g",
                       header="2theta intensity esd (written by xtal)")
            h = self.gpx.add_powder_histogram(str(path), str(self.instprm), fmthint="xye")
            _exact(h, o["y"], 1.0 / np.asarray(o["sigma"]) ** 2)
            self.labels[h.name] = o["label"]
            self.hists.append(h)
            for name in self.phase_names:
                self.gpx.link_histogram_phase(h, self.gpx.phase(name))
        rest = [h.name for h in self.hists[1:]]
        self.gpx.copyHistParms(self.hists[0].name, rest, ["Background", "Instrument", "Sample"])
        for name in self.phase_names:
            self.gpx.phase(name).copyHAPvalues(self.hists[0].name, rest)

    def _reset_sizes(self) -> None:
        for pid in self.no_size:
            p = self.gpx.phase(self.phase_names[pid])
            for h in self.hists:
                p.data["Histograms"][h.name]["Size"][1][0] = NO_SIZE

    def _sequential(self, step: dict) -> None:
        """One ``SeqRefine`` pass over every histogram."""
        import GSASII.GSASIIstrIO as G2stIO
        import GSASII.GSASIIstrMain as G2strMain

        first = self.hist
        for h in self.hists:
            self.hist = h
            self._flags(step["flags"])
            for name in self.phase_names:
                dij = self.gpx.phase(name).data["Histograms"][h.name]["HStrain"][1]
                dij[:] = [step["dij"] == "all" or (step["dij"] == "axes" and i < 3)
                          for i in range(len(dij))]
        self.hist = first
        self._constraints([])
        controls = self.gpx.data["Controls"]["data"]
        controls.update({"Seq Data": [h.name for h in self.hists], "Copy2Next": step["copy_next"],
                         "max cyc": int(step["cycles"]), "min dM/M": float(step["tolerance"]),
                         "ShowCell": True})
        if "Sequential results" not in self.gpx.data:  # what G2Project.refine adds first
            self.gpx.data["Sequential results"] = {"data": {}}
            self.gpx.names.append(["Sequential results"])
        self.gpx.index_ids()  # saves the project
        errmsg, _ = G2stIO.ReadCheckConstraints(self.gpx.filename)
        if errmsg:
            raise RuntimeError(f"GSAS-II constraint error: {errmsg}")
        self.progress = _SeqProgress()
        ok, msg = G2strMain.SeqRefine(self.gpx.filename, self.progress)
        if not ok:
            raise RuntimeError(f"{step['name']}: {msg}")
        self.gpx.reload()

    def _rows(self) -> dict[str, dict]:
        seq = self.gpx.seqref()
        rows = {}
        for i, h in enumerate(self.hists):  # SeqRefine titles its dialog by this index
            rv = seq.data[h.name]["Rvals"]
            cells = {}
            for pid, name in enumerate(self.phase_names):
                cell, esd, _ = seq.get_cell_and_esd(pid, h.name)
                keys = (*CELL_KEYS, "volume")
                cells[name] = {k: (float(v), float(e)) for k, v, e in zip(keys, cell, esd,
                                                                          strict=True)}
            cycles = self.progress.per_hist.get(f"Residual for histogram {i}", 0)
            rows[self.labels[h.name]] = {
                "rwp": float(rv["Rwp"]) / 100.0, "converged": bool(rv.get("converged")),
                "cycles": cycles, "cells": cells}
        return rows
