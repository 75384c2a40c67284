"""Value objects pickle: a worker process can receive a Phase and return a Pattern or Result.

Each object goes through :mod:`pickle` and must come back equal, and what is computed
from the copy — a simulated pattern, a PbSO4 refinement (round-robin data, standard
recipe) — must be bit-identical to what is computed from the original.  The last test
sends a phase to a real ``spawn`` worker process and gets its pattern back.
"""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xtal.crystal.cell import Cell
from xtal.crystal.phase import Phase
from xtal.crystal.spacegroup import SpaceGroup
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.diffraction.reflections import ReflectionList
from xtal.diffraction.simulate import simulate
from xtal.io.instprm import read_instrument
from xtal.io.library import load_phase
from xtal.io.patterns import read_pattern
from xtal.refine.recipe import load_recipe

RANGE = (10.0, 80.0, 0.01)


def round_trip(obj: Any) -> Any:
    copy = pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy is not obj
    return copy


def assert_same_reflections(a: ReflectionList, b: ReflectionList) -> None:
    for key in ("hkl", "multiplicity", "d"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert a.columns.keys() == b.columns.keys()
    for key in a.columns:
        np.testing.assert_array_equal(a.columns[key], b.columns[key])


def assert_same_pattern(a: Pattern, b: Pattern) -> None:
    """Field by field, arrays bit for bit (Pattern holds arrays, so it has no ``==``)."""
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert (a.sigma is None) == (b.sigma is None)
    if a.sigma is not None:
        np.testing.assert_array_equal(a.sigma, b.sigma)
    for key in ("wavelength", "wavelength2", "ratio", "name", "source", "metadata"):
        assert getattr(a, key) == getattr(b, key), key
    assert a.components.keys() == b.components.keys()
    for key in a.components:
        np.testing.assert_array_equal(a.components[key], b.components[key])
    assert a.reflections.keys() == b.reflections.keys()
    for key in a.reflections:
        assert_same_reflections(a.reflections[key], b.reflections[key])


@pytest.fixture(scope="module")
def trigonal() -> Phase:
    phase = load_phase("Na3BS3-trigonal")
    # fill the caches (gemmi GroupOps included) so that the pickle must cope with them
    phase.atoms, phase.space_group.group_ops, phase.cell.matrix, phase.density  # noqa: B018
    return phase


def test_space_group_rebuilds_gemmi_state(trigonal: Phase) -> None:
    sg = trigonal.space_group
    copy = round_trip(sg)
    assert copy == sg and hash(copy) == hash(sg)
    assert [op.triplet() for op in copy.group_ops] == [op.triplet() for op in sg.group_ops]
    np.testing.assert_array_equal(copy.rotations, sg.rotations)
    np.testing.assert_array_equal(copy.translations, sg.translations)
    assert copy.is_centrosymmetric == sg.is_centrosymmetric
    # groups built every way: from a symbol, a number and a (closed) list of operators
    for other in (SpaceGroup.from_symbol("P 21/c"), SpaceGroup.from_number(225),
                  SpaceGroup.from_operations(["x,y,z", "-x,-y,-z"])):
        assert round_trip(other) == other


def test_phase_cell_site_round_trip(trigonal: Phase, shared: Path) -> None:
    pbso4 = load_phase(shared / "real" / "pbso4_cpd_xray" / "PbSO4-Wyckoff.cif")
    for phase in (trigonal, pbso4, load_phase("Na2S")):
        copy = round_trip(phase)
        assert copy == phase and hash(copy) == hash(phase)
        assert copy.extra == phase.extra and copy.provenance == phase.provenance
        assert round_trip(phase.cell) == phase.cell
        assert all(round_trip(s) == s for s in phase.sites)
        np.testing.assert_array_equal(copy.atoms.frac, phase.atoms.frac)
    assert trigonal != pbso4
    assert trigonal.with_cell(Cell(6.0, 6.0, 4.0, 90, 90, 120)) != trigonal


def test_simulated_pattern_is_bit_identical(trigonal: Phase) -> None:
    na2s = load_phase("Na2S")
    inst = Instrument(zero=-0.01, U=3.0)
    assert round_trip(inst) == inst
    original = simulate([trigonal, na2s], inst, RANGE, weights=[0.93, 0.07])
    from_copies = simulate([round_trip(trigonal), round_trip(na2s)], round_trip(inst), RANGE,
                           weights=[0.93, 0.07])
    assert_same_pattern(from_copies, original)
    assert_same_pattern(round_trip(original), original)  # reflections and components too
    refl = original.reflections["Na3BS3-trigonal"]
    assert_same_reflections(round_trip(refl), refl)


def test_refinement_from_unpickled_inputs_is_identical(shared: Path) -> None:
    from xtal.app.refine import refine

    d = shared / "real" / "pbso4_cpd_xray"
    pattern = read_pattern(d / "PBSO4.XRA")[0]
    assert_same_pattern(round_trip(pattern), pattern)
    phase = load_phase(d / "PbSO4-Wyckoff.cif")
    inst = read_instrument(d / "INST_XRY.PRM")
    recipe = load_recipe("standard")
    assert round_trip(recipe) == recipe

    def run(*inputs: Any):
        pat, ph, ins, rec = inputs
        return refine(pat, [ph], ins, rec, two_theta_range=(16.0, 158.4))

    first = run(pattern, phase, inst, recipe)
    second = run(*round_trip((pattern, phase, inst, recipe)))
    assert second.rwp == first.rwp and second.rwp < 0.12  # a real fit, not a stopped one
    assert second.parameters == first.parameters  # values and esds, bit for bit
    np.testing.assert_array_equal(second.curves.calculated, first.curves.calculated)
    assert second.phases["PbSO4"].phase == first.phases["PbSO4"].phase  # _pd_phase_name

    copy = round_trip(first)  # a Result pickles: all of it, as its JSON shows
    assert copy.dumps() == first.dumps()
    assert copy.phases.keys() == first.phases.keys()
    for name, pr in first.phases.items():
        assert copy.phases[name].phase == pr.phase


def test_phase_to_a_worker_process_and_pattern_back(trigonal: Phase) -> None:
    inst = Instrument()
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing shared
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        remote = pool.submit(simulate, trigonal, inst, RANGE).result(timeout=300)
    assert isinstance(remote, Pattern)
    assert_same_pattern(remote, simulate(trigonal, inst, RANGE))
