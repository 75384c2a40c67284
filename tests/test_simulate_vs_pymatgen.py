"""Peak positions and relative intensities against pymatgen's XRDCalculator.

pymatgen is an independent implementation (its own hkl enumeration, structure
factors and Lorentz–polarisation).  Its form factors come from another
parametrisation than ours (pymatgen: f = Z − 41.78214 s² Σ aᵢ exp(−bᵢ s²); xtal:
Waasmaier–Kirfel via xraydb).  The two differ by up to ~1.5 % for light atoms
such as B and Na at high angle, which moves reflections whose structure factor
is a *difference* of scattering factors by more (Na2S 420: F = 4(f_S − 2 f_Na)).
So the comparison is made twice:

* with pymatgen's own parametrisation injected into xtal's engine: everything
  else (reflections, multiplicities, structure factors, LP) must agree to 0.1 %;
* with xtal's default form factors: the issue's tolerances (median ≤ 1 %, every
  group above 1 % of the strongest within 5 %), with the reflections where the
  form-factor parametrisation alone accounts for a larger difference named.

Anomalous dispersion, Kα2 and ADPs are switched off, since pymatgen has none
of them by default, and reflections are grouped the way pymatgen groups them
(by 2θ).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("pymatgen")

from pymatgen.analysis.diffraction.xrd import ATOMIC_SCATTERING_PARAMS, XRDCalculator  # noqa: E402
from pymatgen.core import Element  # noqa: E402
from pymatgen.io.cif import CifParser  # noqa: E402

from xtal.diffraction.instrument import Instrument  # noqa: E402
from xtal.diffraction.simulate import PhasePattern, PhaseTerms  # noqa: E402
from xtal.io.cif import read_cif  # noqa: E402

LAM = 1.5406
RANGE = (5.0, 150.0)
CASES = {
    "PbSO4": "real/pbso4_cpd_xray/PbSO4-Wyckoff.cif",
    "Na3BS3-trigonal": "structures/Na3BS3_trigonal_P3_table1.cif",
    "Na2S": "structures/Na2S_antifluorite.cif",
}


def pymatgen_f0(element: str, s: np.ndarray) -> np.ndarray:
    """pymatgen's X-ray form factor, written out from its documented formula and table."""
    c = np.asarray(ATOMIC_SCATTERING_PARAMS[element])
    s2 = np.asarray(s, float) ** 2
    return Element(element).Z - 41.78214 * s2 * np.sum(
        c[None, :, 0] * np.exp(-c[None, :, 1] * s2[:, None]), axis=1
    )


def _compare(path, f0=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        structure = CifParser(path).parse_structures(primitive=False)[0]
    pm = XRDCalculator(wavelength=LAM).get_pattern(structure, scaled=False, two_theta_range=RANGE)
    inst = Instrument(lam1=LAM, lam2=None, polarization=0.5)
    calc = PhasePattern(
        read_cif(path), inst, RANGE[1], anomalous_dispersion=False, adp=False, f0=f0
    )
    table = calc.table(inst, PhaseTerms())
    tth, inten = table.columns["two_theta"], table.columns["intensity"]
    inside = (tth >= RANGE[0]) & (tth <= RANGE[1])
    tth, inten = tth[inside], inten[inside]
    group = np.abs(tth[:, None] - pm.x[None, :]).argmin(axis=1)
    grouped = np.bincount(group, weights=inten, minlength=len(pm.x))
    ratio = (grouped / grouped.max()) / (pm.y / pm.y.max())
    return pm, tth, inten, group, ratio


@pytest.mark.parametrize("name", CASES)
def test_peak_positions_match_pymatgen(shared, name):
    pm, tth, inten, group, _ = _compare(shared / CASES[name])
    # every pymatgen peak is one of ours, and every visible one of ours is one of pymatgen's
    assert set(group) == set(range(len(pm.x)))
    visible = inten > 1e-4 * inten.max()
    assert np.abs(tth[visible] - pm.x[group[visible]]).max() < 1e-4


@pytest.mark.parametrize("name", CASES)
def test_intensities_match_pymatgen_with_its_form_factors(shared, name):
    pm, *_, ratio = _compare(shared / CASES[name], f0=pymatgen_f0)
    strong = pm.y > 0.01 * pm.y.max()
    assert np.median(np.abs(ratio[strong] - 1)) < 1e-3
    assert np.abs(ratio[strong] - 1).max() < 1e-3


@pytest.mark.parametrize("name", CASES)
def test_intensities_match_pymatgen_with_waasmaier_kirfel(shared, name):
    pm, *_, ratio = _compare(shared / CASES[name])
    _, *_, ratio_pmf = _compare(shared / CASES[name], f0=pymatgen_f0)
    strong = pm.y > 0.01 * pm.y.max()
    dev = np.abs(ratio[strong] - 1)
    assert np.median(dev) <= 0.01
    # where the difference exceeds 5 %, it is the form-factor parametrisation alone:
    # the same reflection agrees to 0.1 % once pymatgen's form factors are used
    over = dev > 0.05
    assert np.all(np.abs(ratio_pmf[strong][over] - 1) < 1e-3)
    assert over.sum() <= 2, pm.x[strong][over]
