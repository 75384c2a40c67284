"""Symmetry ladder against spglib run here on independently expanded structures
(pymatgen's CIF parser), Z, density and mean atomic volume."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import spglib

from xtal.analysis import mean_atomic_volume, symmetry
from xtal.analysis.symmetry import TOLERANCES
from xtal.crystal.cell import Cell
from xtal.crystal.phase import Phase, Site
from xtal.crystal.spacegroup import SpaceGroup
from xtal.io.cif import read_cif

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TABLE1 = DATA / "structures" / "Na3BS3_trigonal_P3_table1.cif"
FILES = {
    "PbSO4": (DATA / "real" / "pbso4_cpd_xray" / "PbSO4-Wyckoff.cif", 62),
    "Na2S": (DATA / "structures" / "Na2S_antifluorite.cif", 225),
    "Na3PS4": (DATA / "structures" / "Na3PS4_tetragonal_P-421c.cif", 114),
}


def _pymatgen_cell(path: Path) -> tuple:
    """spglib cell from pymatgen's own expansion; types keyed by (element, occupancy)."""
    from pymatgen.io.cif import CifParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = CifParser(str(path)).parse_structures(primitive=False)[0]
    keys: dict = {}
    nums = [
        keys.setdefault(
            tuple(sorted((str(e), round(o, 4)) for e, o in site.species.items())), len(keys) + 1
        )
        for site in s
    ]
    return (s.lattice.matrix, s.frac_coords, nums), s


def _spglib(cell: tuple, tol: float):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spglib.get_symmetry_dataset(cell, symprec=tol)


@pytest.mark.parametrize("name", sorted(FILES))
def test_tight_tolerance_gives_declared_group(name: str) -> None:
    path, number = FILES[name]
    rep = symmetry(read_cif(path))
    assert rep.declared_number == number
    assert [r.tolerance for r in rep.ladder] == sorted(TOLERANCES)
    assert rep.ladder[0].number == number
    assert rep.pseudo_symmetry_tolerance is None
    cell, _ = _pymatgen_cell(path)
    for rung in rep.ladder:
        ds = _spglib(cell, rung.tolerance)
        assert (rung.number, rung.hall_number) == (ds.number, ds.hall_number)
    rep.to_json()


def test_table1_ladder_matches_independent_spglib() -> None:
    phase = read_cif(TABLE1)
    rep = symmetry(phase)
    assert (rep.declared_symbol, rep.declared_number) == ("P3", 143)
    cell, structure = _pymatgen_cell(TABLE1)
    for rung in rep.ladder:
        ds = _spglib(cell, rung.tolerance)
        assert (rung.symbol, rung.number, rung.hall_number) == (
            ds.international,
            ds.number,
            ds.hall_number,
        )
        assert rung.n_operations == len(ds.rotations)
    at_001 = next(r for r in rep.ladder if r.tolerance == 0.01)
    assert at_001.number == _spglib(cell, 0.01).number
    # pseudo-symmetry: first rung where the independent spglib run has more operations than P3's 3
    first = next(t for t in sorted(TOLERANCES) if len(_spglib(cell, t).rotations) > 3)
    assert rep.pseudo_symmetry_tolerance == first
    assert rep.pseudo_symmetry_number == _spglib(cell, first).number
    # B (occ 1/3) is its own type, never merged with the full sites
    assert len(rep.atom_types) == 3 and any(k.startswith("B:0.33") for k in rep.atom_types)
    assert rep.formula_units == pytest.approx(2 / 3)
    assert rep.density == pytest.approx(structure.density, rel=1e-4)


def test_partial_site_not_merged_with_full_site() -> None:
    # S (full) at 0,0,0 and S (half) at the body centre: merged they would make a bcc cell
    cell = Cell(4.0, 4.0, 4.0)
    sites = (Site("S1", "S", (0, 0, 0)), Site("S2", "S", (0.5, 0.5, 0.5), occupancy=0.5))
    rep = symmetry(Phase("cscl", cell, SpaceGroup.from_symbol("P 1"), sites))
    frac = np.array([[0, 0, 0], [0.5, 0.5, 0.5]])
    distinct = _spglib((cell.matrix, frac, [1, 2]), 1e-5).number
    merged = _spglib((cell.matrix, frac, [1, 1]), 1e-5).number
    assert distinct != merged
    assert all(r.number == distinct for r in rep.ladder)
    # two partial sites of different occupancy stay apart as well
    sites = (Site("S1", "S", (0, 0, 0), occupancy=0.25), sites[1])
    rep = symmetry(Phase("cscl2", cell, SpaceGroup.from_symbol("P 1"), sites))
    assert rep.ladder[0].number == distinct


def test_mean_atomic_volume_of_glass() -> None:
    from pymatgen.core import Composition

    phase = read_cif(TABLE1)
    expected = Composition("Na3BS3").weight / (1.932 * 7)
    assert mean_atomic_volume(phase, density=1.932) == pytest.approx(expected, rel=1e-4)
    assert round(mean_atomic_volume(phase, density=1.932), 1) == 13.0  # the paper's value
    assert mean_atomic_volume(phase) == pytest.approx(expected * 1.932 / phase.density, rel=1e-4)


def _run_cli(monkeypatch, argv: list[str]) -> int:
    import xtal.cli as cli

    def register() -> None:  # only the commands under test
        from xtal.cli import analysis_cmd  # noqa: F401

    monkeypatch.setattr(cli, "_register", register)
    try:
        cli.main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def test_cli_symmetry_json(monkeypatch, capsys) -> None:
    import json

    assert _run_cli(monkeypatch, ["symmetry", str(TABLE1), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["declared_number"] == 143
    assert [r["tolerance"] for r in data["ladder"]] == sorted(TOLERANCES)
    assert _run_cli(monkeypatch, ["symmetry", str(TABLE1)]) == 0
    assert "pseudo-symmetry" in capsys.readouterr().out


def test_cli_bad_input_one_line(monkeypatch, capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.cif"
    bad.write_text("data_x\n_cell_length_a 3\n")
    assert _run_cli(monkeypatch, ["symmetry", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("xtal: error:") and "\n" not in err
