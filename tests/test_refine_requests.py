"""What is asked of a refinement is done, or refused — never silently dropped (issue 7).

Patterns are simulated with xtal from known structures (the truth is what was put
in) and refined from starts that do not contain the answer.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from xtal.app.refine import refine
from xtal.diffraction.background import chebyshev_basis
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.diffraction.simulate import PhasePattern, PhaseTerms
from xtal.errors import InputError
from xtal.io.cif import read_cif
from xtal.io.library import load_phase
from xtal.refine.recipe import load_recipe, parse_recipe

INST = Instrument(U=3.0, V=-1.0, W=4.0, X=1.0, Y=2.0, sh_l=0.01)

# pyrite, Pa-3 (No. 205): S on 8c (x, x, x), x = 0.385 (a textbook structure)
PYRITE = """data_pyrite
_cell_length_a 5.417
_cell_length_b 5.417
_cell_length_c 5.417
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_space_group_name_H-M_alt 'P a -3'
_space_group_IT_number 205
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_B_iso_or_equiv
Fe1 Fe 0 0 0 0.3
S1 S 0.385 0.385 0.385 0.4
"""


def _pattern(phases, scales, seed=3, lo=10.0, hi=110.0) -> Pattern:
    x = np.arange(lo, hi, 0.02)
    y = chebyshev_basis(x, 2) @ np.array([200.0, -40.0])
    for ph, s in zip(phases, scales, strict=True):
        y = y + s * PhasePattern(ph, INST, hi).render(x, INST, PhaseTerms())
    return Pattern(x, np.random.default_rng(seed).poisson(y).astype(float), name="sim")


def _recipe(*stages: list[str], **extra) -> object:
    return parse_recipe(
        {
            "background": {"chebyshev": 2},
            **extra,
            "stage": [
                {"name": f"s{i}", "refine": r, "cycles": 20} for i, r in enumerate(stages)
            ],
        }
    )


@pytest.fixture(scope="module")
def pyrite(tmp_path_factory) -> object:
    path = tmp_path_factory.mktemp("cif") / "pyrite.cif"
    path.write_text(PYRITE)
    return read_cif(path)


def test_part_of_coupled_coordinates_refines_the_whole_set(pyrite):
    """Asking for x of an (x, x, x) site refines x = y = z, and says so."""
    pattern = _pattern([pyrite], [1e-2])
    s1 = pyrite.site("S1")
    start = pyrite.with_sites([pyrite.site("Fe1"), replace(s1, xyz=(0.38, 0.38, 0.38))])
    rec = _recipe(["phases.*.scale", "background.*"], ["phases.pyrite.sites.S1.x"])
    res = refine(pattern, [start], INST, rec)
    x, y, z = (res.value(f"phases.pyrite.sites.S1.{k}") for k in "xyz")
    assert x.value == pytest.approx(y.value, abs=1e-12) == pytest.approx(z.value, abs=1e-12)
    assert abs(x.value - 0.385) < 3 * x.esd  # refined, to the truth
    assert any("S1.y" in w and "refined too" in w for w in res.warnings), res.warnings


def test_a_name_that_matches_nothing_is_refused_before_anything_runs(pyrite):
    pattern = _pattern([pyrite], [1e-2])
    rec = _recipe(["phases.*.scale"], ["phases.pyrite.sites.S9.x"])
    with pytest.raises(InputError, match="S9.x.*matches no parameter"):
        refine(pattern, [pyrite], INST, rec)
    with pytest.raises(InputError, match="matches no parameter"):
        refine(pattern, [pyrite], INST, _recipe(["phases.*.scale"]), fix=["instrument.nope"])


def test_a_wildcard_that_matches_nothing_is_a_warning(pyrite):
    pattern = _pattern([pyrite], [1e-2])
    rec = _recipe(["phases.*.scale", "background.halo.*.area"])
    res = refine(pattern, [pyrite], INST, rec)
    assert any("background.halo.*.area" in w for w in res.warnings)


def test_zero_with_displacement_is_a_runaway_warning(pyrite):
    pattern = _pattern([pyrite], [1e-2])
    rec = _recipe(["phases.*.scale"], ["instrument.zero", "instrument.displacement"])
    res = refine(pattern, [pyrite], INST, rec)
    assert any("instrument.zero with instrument.displacement" in w for w in res.warnings)


def test_range_outside_0_180_is_refused(pyrite):
    pattern = _pattern([pyrite], [1e-2])
    with pytest.raises(InputError, match="0 < LO < HI < 180"):
        refine(pattern, [pyrite], INST, _recipe(["phases.*.scale"]), two_theta_range=(10, 800))


def test_neutron_data_are_refused_until_built(pyrite):
    pattern = _pattern([pyrite], [1e-2])
    with pytest.raises(InputError, match="neutron"):
        refine(pattern, [pyrite], replace(INST, radiation="neutron"), _recipe(["phases.*.scale"]))


def _trigonal(b1: float, b2: float):
    tri = load_phase("Na3BS3-trigonal")
    sites = [
        replace(s, occupancy=b1 if s.label == "B1" else b2 if s.label == "B2" else s.occupancy)
        for s in tri.sites
    ]
    return tri.with_sites(sites)


def test_occupancies_move_between_sites_under_the_composition():
    """B1/B2 of trigonal Na3BS3: B may move between the sites, its total stays 2/3.

    The start is off the equal split: at B1 = B2 the pattern is an even function of the
    exchange (the average structure's pseudo-symmetry), so no gradient leads away from it.
    """
    truth = _trigonal(0.5, 1 / 6)
    pattern = _pattern([truth], [2e-2], lo=10.0, hi=80.0)
    rec = _recipe(["phases.*.scale", "background.*"], ["phases.*.cell.*"],
                  ["phases.*.sites.B*.occ"])
    res = refine(pattern, [_trigonal(0.4, 2 / 3 - 0.4)], INST, rec)
    b1, b2 = (res.value(f"phases.Na3BS3-trigonal.sites.{s}.occ") for s in ("B1", "B2"))
    assert b1.value + b2.value == pytest.approx(2 / 3, abs=1e-9)
    assert abs(b1.value - 0.5) < 3 * b1.esd, (b1, b2)


def test_an_occupancy_the_formula_fixes_is_not_refined(shared):
    """RbNb2O5F: Rb's only site and the O/F split keep the formula; each says why."""
    phase = read_cif(shared / "real/rbnb2o5f_empyrean/RbNb2O5F.cif")
    pattern = _pattern([phase], [1e-3])
    rec = _recipe(["phases.*.scale", "background.*"], ["phases.*.sites.*.occ"])
    res = refine(pattern, [phase], INST, rec)
    for s in phase.sites:
        v = res.value(f"phases.{phase.name}.sites.{s.label}.occ")
        assert v.value == pytest.approx(s.occupancy, abs=1e-12)
        assert v.esd is None
    assert any("Rb1.occ" in w and "formula fixes them" in w for w in res.warnings), res.warnings


def test_the_standard_recipe_keeps_the_composition(shared):
    phase = read_cif(shared / "real/rbnb2o5f_empyrean/RbNb2O5F.cif")
    pattern = _pattern([phase], [1e-3])
    res = refine(pattern, [phase], INST, "standard")
    for s in phase.sites:
        assert res.value(f"phases.{phase.name}.sites.{s.label}.occ").value == pytest.approx(
            s.occupancy, abs=1e-12
        )


def test_the_na3bs3_recipe_finds_a_trigonal_phase_by_what_it_is(shared, tmp_path: Path):
    """The user's own Table-1 CIF, named after its file: the recipe's B1 + B2 = 2/3 and
    one-B-per-element constraints still apply (they did not, silently, before)."""
    text = (shared / "structures/Na3BS3_trigonal_P3_table1.cif").read_text()
    mine = tmp_path / "my_table1.cif"
    mine.write_text(text)
    user = read_cif(mine)
    assert user.name != "Na3BS3-trigonal"
    ex = shared / "synthetic/na3bs3_ht200_gsas2"
    rec = parse_recipe(
        {
            "role": {"trigonal": {"formula": "Na3BS3", "space_group": 143}},
            "constraints": [
                "phases.{trigonal}.sites.B*.occ = 2/3",
                "equal: phases.{trigonal}.sites.Na*.biso",
            ],
            "background": {"chebyshev": 3, "halo": [{"position": 30.0}]},
            "stage": [
                {"name": "scale", "refine": ["phases.*.scale", "background.*"]},
                {"name": "more", "refine": ["phases.*.sites.*.biso", "phases.*.sites.B*.occ"]},
            ],
        }
    )
    res = refine(ex / "pattern.xy", [user, "Na2S"], ex / "instrument.instprm", rec,
                 two_theta_range=(10.0, 60.0))
    n = user.name
    b1, b2 = (res.value(f"phases.{n}.sites.{s}.occ").value for s in ("B1", "B2"))
    assert b1 + b2 == pytest.approx(2 / 3, abs=1e-9)
    na = [res.value(f"phases.{n}.sites.{s}.biso").value for s in ("Na1", "Na2")]
    assert na[0] == pytest.approx(na[1], abs=1e-12)
    assert not any("role" in w for w in res.warnings)


def test_a_role_no_phase_fills_is_reported():
    rec = load_recipe("na3bs3")
    truth = load_phase("Na2S")
    pattern = _pattern([truth], [1e-2], lo=10.0, hi=80.0)
    res = refine(pattern, [truth], INST, rec)
    assert any("role 'trigonal'" in w and "matches no phase" in w for w in res.warnings)


def test_role_named_by_the_user_must_exist():
    truth = load_phase("Na2S")
    pattern = _pattern([truth], [1e-2], lo=10.0, hi=80.0)
    with pytest.raises(InputError, match="no phase 'Nope'"):
        refine(pattern, [truth], INST, "na3bs3", roles={"trigonal": "Nope"})
