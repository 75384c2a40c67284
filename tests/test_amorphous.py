"""How much glass: internal standard and crystallinity from areas (issue 11).

References: the analytic identities of the internal-standard method (Bish & Howard
1988), and synthetic mixtures whose composition is what was put in — a glass halo of
known area, a weighed-in Si standard of known fraction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xtal.app.refine import refine
from xtal.diffraction.background import Background, Halo
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.diffraction.simulate import simulate
from xtal.errors import InputError
from xtal.io.cif import read_cif
from xtal.io.library import load_phase
from xtal.refine.amorphous import InternalStandard, crystallinity, internal_standard_fractions
from xtal.refine.recipe import parse_recipe

SI = """data_Si
_pd_phase_name Si_standard
_cell_length_a 5.4311
_cell_length_b 5.4311
_cell_length_c 5.4311
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_space_group_name_H-M_alt 'F d -3 m :1'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_B_iso_or_equiv
Si1 Si 0 0 0 0.5
"""


def test_internal_standard_identities():
    """X'_p = W_p f / (W_s (1 − f)) and A = (1 − f/W_s)/(1 − f); Σ X' + A = 1 exactly."""
    names = ["A", "B", "Si"]
    zmv = np.array([2.0, 3.0, 5.0])
    w = np.array([0.6, 0.15, 0.25])  # refined, of the crystalline part
    scales = w / zmv
    std = InternalStandard("Si", 0.10)
    fr, (a, _) = internal_standard_fractions(names, scales, zmv, None, std)
    assert fr["A"][0] == pytest.approx(0.6 * 0.10 / (0.25 * 0.9))
    assert a == pytest.approx((1 - 0.10 / 0.25) / 0.9)
    assert fr["A"][0] + fr["B"][0] + a == pytest.approx(1.0)


def test_internal_standard_esd_matches_monte_carlo():
    names = ["A", "Si"]
    zmv = np.array([2.0, 5.0])
    scales = np.array([0.3, 0.05])
    cov = np.diag([0.003, 0.001]) ** 2
    std = InternalStandard("Si", 0.10, 0.002)
    _, (a, a_esd) = internal_standard_fractions(names, scales, zmv, cov, std)
    rng = np.random.default_rng(5)
    draws = []
    for _ in range(20000):
        sc = rng.multivariate_normal(scales, cov)
        f = 0.10 + 0.002 * rng.standard_normal()
        w_s = sc[1] * 5.0 / (sc @ zmv)
        draws.append((1 - f / w_s) / (1 - f))
    assert a_esd == pytest.approx(np.std(draws), rel=0.05)
    assert a == pytest.approx(np.mean(draws), abs=3 * a_esd / np.sqrt(20000) + 1e-3)


def test_crystallinity_definition():
    doc, esd = crystallinity(np.array([60.0, 20.0]), np.array([20.0]), np.diag([1.0, 1.0, 4.0]))
    assert doc == pytest.approx(0.8)
    grad = np.array([20, 20, -80]) / 100**2
    assert esd == pytest.approx(np.sqrt(grad @ np.diag([1.0, 1.0, 4.0]) @ grad))


@pytest.fixture(scope="module")
def mixture(tmp_path_factory):
    """Sample: 2/3 trigonal Na3BS3, 1/9 Na2S, 2/9 glass; 10 wt% Si weighed in.

    The mixture is 60 : 10 : 20 (glass) : 10 (Si); the crystalline part 75 : 12.5 : 12.5.
    The glass is a halo whose area is 20/80 of the Bragg area: the same scattering per
    unit mass as the crystals (the assumption of the crystallinity estimate).
    """
    path = tmp_path_factory.mktemp("si") / "si.cif"
    path.write_text(SI)
    si = read_cif(path)
    phases = [load_phase("Na3BS3-trigonal"), load_phase("Na2S"), si]
    inst = Instrument(U=2.0, V=-2.0, W=5.0, X=1.5, Y=3.0, sh_l=0.02)
    x = (10.0, 100.0, 0.01)
    bragg = simulate(phases, inst, x, weights=[0.75, 0.125, 0.125], fcj="exact",
                     peak_height=30000.0)
    area = float(np.trapezoid(bragg.y, bragg.x))
    halo = Halo(30.0, 0.25 * area, 11.0)
    bg = Background(chebyshev=(150.0, -40.0, 10.0), halos=(halo,))
    y = bragg.y + bg.evaluate(bragg.x)
    counts = np.random.default_rng(2).poisson(y).astype(float)
    return Pattern(bragg.x, counts, name="mixture"), inst, phases, path


RECIPE = parse_recipe(
    {
        "background": {"chebyshev": 3, "halo": [{"position": 28.0, "fwhm": 9.0}]},
        "stage": [
            {"name": "linear", "refine": ["phases.*.scale", "background.*.area",
                                         "background.chebyshev.*"]},
            {"name": "cells", "refine": ["phases.*.cell.*", "background.halo.*.position",
                                        "background.halo.*.fwhm"], "cycles": 20},
        ],
    }
)


def test_amorphous_part_from_the_internal_standard(mixture):
    pattern, inst, phases, _ = mixture
    si = phases[2].name
    res = refine(pattern, phases, inst, RECIPE, internal_standard=f"{si}:10:0.02")
    a = res.amorphous
    assert abs(a.value - 2 / 9) <= 3 * a.esd, a
    expected = {"Na3BS3-trigonal": 2 / 3, "Na2S": 1 / 9}
    for name, x in expected.items():
        got = res.phases[name].weight_fraction_of_sample
        assert abs(got.value - x) <= 3 * got.esd, (name, got)
    assert res.phases[si].weight_fraction_of_sample is None
    # the Rietveld fractions stay fractions of the crystalline part
    wf = sum(p.weight_fraction.value for p in res.phases.values())
    assert wf == pytest.approx(1.0)


def test_crystallinity_from_areas(mixture):
    pattern, inst, phases, _ = mixture
    res = refine(pattern, phases, inst, RECIPE)
    doc = res.crystallinity
    assert abs(doc.value - 0.8) <= 3 * doc.esd + 0.005, doc  # + the window's lost tails
    assert res.amorphous is None  # no standard: not claimed


def test_result_json_keeps_the_amounts(mixture, tmp_path: Path):
    from xtal.refine.result import Result

    pattern, inst, phases, _ = mixture
    res = refine(pattern, phases, inst, RECIPE, internal_standard=f"{phases[2].name}:10")
    back = Result.load(res.save(tmp_path / "result.json"))
    assert back.amorphous == res.amorphous
    assert back.phases["Na2S"].weight_fraction_of_sample == res.phases[
        "Na2S"
    ].weight_fraction_of_sample
    d = back.to_json()
    assert "crystalline part" in d["fractions"]


@pytest.mark.parametrize("text", ["Si_standard", "Si_standard:x", "Si_standard:150"])
def test_bad_standard_is_one_line(text):
    with pytest.raises(InputError) as exc:
        InternalStandard.parse(text)
    assert "\n" not in str(exc.value)


def test_standard_must_be_a_phase(mixture):
    pattern, inst, phases, _ = mixture
    with pytest.raises(InputError, match="not one of the Rietveld phases"):
        refine(pattern, phases[:2], inst, RECIPE, internal_standard=f"{phases[2].name}:10")
