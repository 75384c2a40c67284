"""The refinement's Jacobian against central differences of the drawn pattern.

The reference is the definition of the derivative: the phase's pattern drawn at
v ± h (same quadrature and width bands, as the solver holds them between refreshes)
and differenced.  The Jacobian takes site and intensity parameters through |F|² and
the peak profiles, cell and instrument parameters through the analytic profile
derivatives; both are good to the Lorentzian tails left out of the profiles' core
windows (a few per mille here), so the columns must agree to 1 % in L2 norm.
"""

from __future__ import annotations

import numpy as np
import pytest

from xtal.io.instprm import read_instrument
from xtal.io.library import load_phase
from xtal.io.patterns import read_one
from xtal.refine.model import Data, RietveldModel

NAMES = [
    "phases.PbSO4.sites.Pb.x", "phases.PbSO4.sites.Pb.z", "phases.PbSO4.sites.Pb.biso",
    "phases.PbSO4.sites.O1.y", "phases.PbSO4.sites.S.occ", "phases.PbSO4.sites.Pb.occ",
    "phases.PbSO4.cell.a", "phases.PbSO4.cell.c", "instrument.U", "instrument.displacement",
]


@pytest.fixture(scope="module")
def model(shared) -> RietveldModel:
    d = shared / "real/pbso4_cpd_xray"
    p = read_one(d / "PBSO4.XRA")
    p.select(16.0, 158.4, [])
    return RietveldModel(Data(p.x, p.y, p.esd()), [load_phase(d / "PbSO4-Wyckoff.cif")],
                         read_instrument(d / "INST_XRY.PRM"), 6)


def test_columns_equal_differences_of_the_pattern(model: RietveldModel) -> None:
    v = model.params.values()
    names = [n for n in NAMES if n in v]
    assert len(names) == len(NAMES)
    model.refresh_plans(v)
    jac = model.evaluate(v, jacobian_for=names).jacobian
    scale = v["phases.PbSO4.scale"]
    for j, n in enumerate(names):
        h = {"biso": 1e-3, "occ": 1e-4, "U": 1e-2, "displacement": 0.1}.get(n.split(".")[-1], 1e-5)
        hi, lo = dict(v), dict(v)
        if n.endswith(".occ"):  # occupancies of the CIF are 1, where |F|² holds them: one-sided
            assert v[n] == 1.0
            lo[n] -= h
            step = h
        else:
            hi[n] += h
            lo[n] -= h
            step = 2 * h
        ref = scale * (model.evaluate(hi).phase_curves["PbSO4"]
                       - model.evaluate(lo).phase_curves["PbSO4"]) / step
        err = np.linalg.norm(jac[:, j] - ref) / np.linalg.norm(ref)
        assert err < 0.01, (n, err)


def test_structure_factors_kept_per_cell_are_those_of_that_cell(model: RietveldModel) -> None:
    """|F|² after visiting other cells (the Jacobian's steps) equals a fresh calculation."""
    from xtal.refine.phase_calc import CELLS_KEPT, PhaseCalc

    calc = model.calcs["PbSO4"]
    v = model.params.values()
    cells = [dict(v, **{"phases.PbSO4.cell.a": v["phases.PbSO4.cell.a"] * (1 + 0.01 * k)})
             for k in range(CELLS_KEPT + 2)]
    first = calc.f_sq(cells[0])
    for c in cells[1:]:  # more cells than are kept: the first is pushed out and redone
        calc.f_sq(c)
    fresh = PhaseCalc("PbSO4", calc.base, model.instrument, float(model.data.x[-1]), calc.terms)
    np.testing.assert_array_equal(calc.f_sq(cells[0]), first)
    np.testing.assert_allclose(calc.f_sq(cells[3]), fresh.f_sq(cells[3]), rtol=1e-12)
    np.testing.assert_allclose(calc.f_sq(cells[0]), fresh.f_sq(cells[0]), rtol=1e-12)
