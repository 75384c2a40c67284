"""xtal's own engine behind the engine seam: :class:`RietveldModel` + :class:`Solver`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from xtal.refine.engine import EngineOutput, Problem, Progress, StageReport, StageSpec
from xtal.refine.model import Data, HaloSpec, RietveldModel
from xtal.refine.parameters import Constraint
from xtal.refine.paths import ParamPath
from xtal.refine.solver import Solver


class NativeEngine:
    """Variable-projection Levenberg–Marquardt on xtal's own Rietveld model.

    See :mod:`xtal.refine.model` (the model and its derivatives) and
    :mod:`xtal.refine.solver` (the damped least squares and the esds).
    """

    def __init__(self) -> None:
        from xtal import __version__

        self.name = f"xtal {__version__}"
        self._model: RietveldModel | None = None
        self._solver: Solver | None = None
        self._fcj = "gsas2"
        self._le_bail: frozenset[str] = frozenset()

    @property
    def model(self) -> RietveldModel:
        if self._model is None:
            raise RuntimeError("the engine is not set up")
        return self._model

    def setup(self, problem: Problem) -> list[str]:
        pat = problem.pattern
        data = Data(pat.x, pat.y, pat.esd())
        rec = problem.recipe
        halos = [HaloSpec(h.position, h.fwhm, 0.0, h.lorentz_fraction) for h in rec.halos]
        self._fcj = problem.fcj
        self._model = RietveldModel(
            data,
            list(problem.phases),
            problem.instrument,
            n_background=problem.recipe.chebyshev,
            halos=halos,
            terms=dict(problem.phase_terms),
            fcj=problem.fcj,
            fixed_background=problem.fixed_background,
            le_bail=problem.le_bail,
        )
        self._le_bail = problem.le_bail
        self._solver = Solver(self._model, list(problem.restraints), exact_esds=problem.exact_esds)
        return self._model.params.names

    def constrain(self, constraints: Sequence[Constraint]) -> None:
        self.model.params.constraints.extend(constraints)

    def set_values(self, values: Mapping[str, float]) -> list[str]:
        ps = self.model.params
        unknown = [n for n in values if n not in ps]
        for n, v in values.items():
            if n in ps and v is not None and np.isfinite(v):
                ps[n].value = float(v)
        return unknown

    def values(self) -> dict[str, float]:
        return self.model.params.values()

    def run_stage(self, stage: StageSpec, progress: Progress | None = None) -> StageReport:
        assert self._solver is not None
        names, notes = self.model.params.coupled(list(stage.refine))
        self.model.params.set_refine(names)
        self._solver.progress = progress
        outcome, _ = self._solver.run(stage.name, stage.cycles, stage.tolerance)
        outcome.warnings[:0] = [f"stage '{stage.name}': {n}" for n in notes]
        return StageReport(
            stage.name,
            outcome.cycles,
            outcome.chi2_start,
            outcome.chi2,
            outcome.converged,
            outcome.stopped,
            list(outcome.warnings),
        )

    def output(self) -> EngineOutput:
        assert self._solver is not None
        model = self.model
        state = self._solver.final_state()
        v = state.values
        d = model.data
        dof = max(d.x.size - state.n_free, 1)
        cov = None if state.covariance is None else state.covariance * (state.chi2_pattern / dof)
        ev = model.evaluate(v)
        lin = {n: i for i, n in enumerate(ev.linear_names)}
        bg = model.fixed_background.copy()
        for n in ev.linear_names:
            if not model.params[n].path.is_scale:  # type: ignore[union-attr]
                bg += ev.basis[:, lin[n]] * v[n]
        curves = {nm: ev.phase_curves[nm] * v[c.scale_key] for nm, c in model.calcs.items()}
        inst = model.instrument_from(v)
        notes = []
        if state.unresolved:
            notes.append(
                "no esd (the data do not resolve them): " + ", ".join(state.unresolved)
            )
        if state.at_bound:
            notes.append("no esd (held at a bound): " + ", ".join(state.at_bound))
        return EngineOutput(
            values=dict(v),
            refined=list(state.names),
            covariance=cov,
            x=d.x,
            observed=d.y,
            sigma=d.sigma,
            calculated=bg + sum(curves.values()),
            background=bg,
            phase_curves=curves,
            peaks={nm: c.peaks(v, inst) for nm, c in model.calcs.items()},
            hkl={nm: c.hkl.astype(int) for nm, c in model.calcs.items()},
            multiplicity={nm: c.mult.astype(int) for nm, c in model.calcs.items()},
            phases={nm: model.phase_at(nm, v) for nm in model.calcs},
            instrument=inst,
            n_free=state.n_free,
            chi2_pattern=state.chi2_pattern,
            engine=self.name,
            free_map=state.mapping,
            fcj=self._fcj,
            warnings=notes,
            le_bail=self._le_bail,
            halo_curves={
                f"halo.{i}": ev.halo_curves[i] * v[str(ParamPath.halo(i, "area"))]
                for i in range(len(ev.halo_curves))
            },
        )
