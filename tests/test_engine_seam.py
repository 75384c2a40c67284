"""The engine seam: the strategy drives any engine; metrics and paths are engine-neutral."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.diffraction.peaks import peaks_from_arrays
from xtal.errors import InputError
from xtal.io.library import load_phase
from xtal.refine.api import make_problem
from xtal.refine.engine import EngineOutput, Problem, StageReport, StageSpec
from xtal.refine.metrics import agreement, weight_fractions
from xtal.refine.parameters import Constraint
from xtal.refine.paths import ParamPath, check_name
from xtal.refine.recipe import parse_recipe
from xtal.refine.strategy import run


class LineEngine:
    """A toy engine: y = a · g(x) + b with g a fixed Gaussian, solved exactly per stage.

    Independent of the native engine, so it shows what the strategy alone does.
    """

    name = "toy 1"

    def setup(self, problem: Problem) -> list[str]:
        self.p = problem
        self.phase = problem.phases[0].name
        self.scale = str(ParamPath.phase_leaf(self.phase, "scale"))
        self.cheb = str(ParamPath.chebyshev(0))
        self.vals = {self.scale: 1.0, self.cheb: 0.0, "instrument.zero": 0.0}
        self.stages: list[tuple[str, ...]] = []
        self.constraints: list[Constraint] = []
        return list(self.vals)

    def constrain(self, constraints: Sequence[Constraint]) -> None:
        self.constraints += list(constraints)

    def set_values(self, values: Mapping[str, float]) -> list[str]:
        unknown = [n for n in values if n not in self.vals]
        self.vals.update({n: v for n, v in values.items() if n in self.vals})
        return unknown

    def values(self) -> dict[str, float]:
        return dict(self.vals)

    def _g(self) -> np.ndarray:
        return np.exp(-0.5 * ((self.p.pattern.x - 30.0) / 0.5) ** 2)

    def run_stage(self, stage: StageSpec, progress=None) -> StageReport:
        self.stages.append(stage.refine)
        pat = self.p.pattern
        a = np.column_stack([self._g(), np.ones_like(pat.x)])
        coef = np.linalg.lstsq(a, pat.y, rcond=None)[0]
        if self.scale in stage.refine:
            self.vals[self.scale] = float(coef[0])
        if self.cheb in stage.refine:
            self.vals[self.cheb] = float(coef[1])
        return StageReport(stage.name, 1, 1.0, 0.5, True)

    def output(self) -> EngineOutput:
        pat = self.p.pattern
        bg = np.full(pat.x.size, self.vals[self.cheb])
        curve = self.vals[self.scale] * self._g()
        refined = list(self.stages[-1])
        cov = np.diag([1e-4] * len(refined))
        ph = self.p.phases[0]
        return EngineOutput(
            values=dict(self.vals),
            refined=refined,
            covariance=cov,
            x=pat.x,
            observed=pat.y,
            sigma=pat.esd(),
            calculated=bg + curve,
            background=bg,
            phase_curves={self.phase: curve},
            peaks={self.phase: peaks_from_arrays([30.0], 1.0, 0.5 * 2.3548, 0.0)},
            hkl={self.phase: np.array([[1, 1, 1]])},
            multiplicity={self.phase: np.array([8])},
            phases={self.phase: ph},
            instrument=self.p.instrument,
            n_free=len(refined),
            chi2_pattern=1.0,
            engine=self.name,
        )


RECIPE = parse_recipe(
    {
        "name": "toy",
        "background": {"chebyshev": 1},
        "stage": [
            {"name": "scale", "refine": ["phases.*.scale"]},
            {"name": "same again", "refine": ["phases.*.scale"]},
            {"name": "background", "refine": ["background.*", "instrument.*"]},
        ],
    }
)


def _toy_problem() -> Problem:
    x = np.linspace(20, 40, 401)
    y = 500.0 * np.exp(-0.5 * ((x - 30.0) / 0.5) ** 2) + 40.0
    pat = Pattern(x=x, y=y, sigma=np.sqrt(y))
    return make_problem(pat, [load_phase("Na2S")], Instrument(), RECIPE)


def test_strategy_drives_another_engine():
    """Wildcards expand over the engine's names, empty stages are skipped, --fix holds."""
    engine = LineEngine()
    res = run(_toy_problem(), engine, fix=["instrument.zero"])
    scale, cheb = "phases.Na2S.scale", "background.chebyshev.0"
    assert engine.stages == [(scale,), (scale, cheb)]
    assert res.engine == "toy 1"
    assert res.value("phases.Na2S.scale").value == pytest.approx(500.0, rel=1e-9)
    assert res.value("background.chebyshev.0").value == pytest.approx(40.0, rel=1e-9)
    assert res.value("instrument.zero").esd is None  # fixed: never refined
    assert res.value("phases.Na2S.scale").esd == pytest.approx(0.01)
    assert res.rwp == pytest.approx(0.0, abs=1e-9)
    assert [s["name"] for s in res.stages] == ["scale", "background"]


def test_warm_start_reaches_the_engine_and_unknown_names_are_reported():
    engine = LineEngine()
    res = run(_toy_problem(), engine, start={"instrument.zero": 0.02, "nope.x": 1.0})
    assert res.value("instrument.zero").value == 0.02
    assert any("warm start" in w and "nope.x" in w for w in res.warnings)


def test_agreement_indices_by_their_definitions():
    """Rwp, Rp, Rexp, GOF from their textbook definitions (physics.md §7)."""
    rng = np.random.default_rng(1)
    yc = 100 + 50 * rng.random(200)
    yo = yc + rng.normal(0, 3, 200)
    sig = np.full(200, 3.0)
    ag = agreement(yo, yc, np.full(200, 100.0), sig, 5)
    w = 1 / sig**2
    assert ag.rwp == pytest.approx(np.sqrt(np.sum(w * (yo - yc) ** 2) / np.sum(w * yo**2)))
    assert ag.rp == pytest.approx(np.sum(np.abs(yo - yc)) / np.sum(yo))
    assert ag.rexp == pytest.approx(np.sqrt(195 / np.sum(w * yo**2)))
    assert ag.gof**2 == pytest.approx(ag.chi2)
    assert ag.rwp_background_subtracted > ag.rwp


def test_weight_fraction_esd_is_linear_propagation():
    """Hill–Howard fractions sum to 1; their esd matches a finite-difference propagation."""
    scales = {"A": 2.0, "B": 1.0}
    zmv = {"A": 3.0, "B": 5.0}
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    wf = weight_fractions(scales, zmv, cov)
    assert wf["A"][0] + wf["B"][0] == pytest.approx(1.0)
    assert wf["A"][0] == pytest.approx(6 / 11)

    def w_a(sa: float, sb: float) -> float:
        return sa * 3 / (sa * 3 + sb * 5)

    h = 1e-6
    g = np.array([(w_a(2 + h, 1) - w_a(2 - h, 1)) / 2 / h, (w_a(2, 1 + h) - w_a(2, 1 - h)) / 2 / h])
    assert wf["A"][1] == pytest.approx(np.sqrt(g @ cov @ g), rel=1e-6)
    assert wf["A"][1] == pytest.approx(wf["B"][1])  # W_B = 1 − W_A


@pytest.mark.parametrize(
    "path",
    [
        ParamPath.cell("Na3BS3-trigonal", "a"),
        ParamPath.site_param("PbSO4", "O3", "biso"),
        ParamPath.phase_leaf("Na2S", "microstrain"),
        ParamPath.po_ratio("x"),
        ParamPath.instrument("displacement"),
        ParamPath.chebyshev(11),
        ParamPath.halo(0, "fwhm"),
    ],
)
def test_paths_round_trip_through_text(path: ParamPath):
    assert ParamPath.parse(str(path)) == path


@pytest.mark.parametrize("text", ["phases.A.cell.q", "instrument", "phases.A.sites.B1", "foo.bar"])
def test_malformed_paths_are_refused(text: str):
    with pytest.raises(InputError, match="not a parameter path"):
        ParamPath.parse(text)


@pytest.mark.parametrize("name", ["Na2S.v2", "my phase", "a*b", "x=y", ""])
def test_names_that_would_break_a_path_are_refused_in_one_line(name: str):
    with pytest.raises(InputError) as exc:
        check_name(name)
    assert "\n" not in str(exc.value)


def test_a_dotted_phase_name_is_refused_before_refining(shared):
    from dataclasses import replace

    from xtal.app.refine import refine

    phase = replace(load_phase("Na2S"), name="Na2S.v2")
    ex = shared / "synthetic" / "na3bs3_ht200_gsas2"
    with pytest.raises(InputError, match="Na2S.v2"):
        refine(ex / "pattern.xy", [load_phase("Na3BS3-trigonal"), phase], ex / "instrument.instprm")
