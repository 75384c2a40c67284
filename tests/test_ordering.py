"""Ordered variants of trigonal Na3BS3: the √3×√3 cell is found; after relaxation every S
binds exactly one B at 1.81 ± 0.02 Å (checked with pymatgen's neighbour search); each
variant written in its space group is the same structure as its P1 form (pymatgen's
StructureMatcher), survives a CIF round trip, and is labelled a derived model.
``--max-cells`` 6 works (in seconds) and a size xtal will not enumerate is refused in one
line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xtal.analysis.ordering import hnf_matrices, ordered_variants
from xtal.errors import InputError
from xtal.io.cif import read_cif

TABLE1 = (
    Path(__file__).resolve().parents[2] / "shared/data/structures/Na3BS3_trigonal_P3_table1.cif"
)
A, C = 3.901, 7.422


def test_hnf_counts() -> None:
    # number of sublattices of index n of Z^3 (OEIS A001001): 1, 7, 13, 35
    assert [len(hnf_matrices(n)) for n in (1, 2, 3, 4)] == [1, 7, 13, 35]
    for n in (2, 3):
        assert all(round(np.linalg.det(h)) == n for h in hnf_matrices(n))


@pytest.fixture(scope="module")
def variants():
    return ordered_variants(read_cif(TABLE1), sites=("B1", "B2"), max_cells=3)


def test_sqrt3_variant_found(variants) -> None:
    from pymatgen.core import Composition, Lattice, Structure

    sqrt3 = [
        v
        for v in variants
        if np.allclose(v.phase.cell.parameters, (A * 3**0.5, A * 3**0.5, C, 90, 90, 120), atol=1e-6)
    ]
    assert sqrt3, [v.phase.cell.parameters for v in variants]
    for v in variants:
        phase = v.phase
        assert "derived model made by xtal from" in phase.provenance
        assert "411608" not in phase.provenance and "monoclinic" not in phase.provenance
        at = phase.atoms
        s = Structure(Lattice(phase.cell.matrix), list(at.elements), at.frac)
        assert Composition(s.composition.reduced_formula) == Composition("Na3BS3")
        for k, site in enumerate(s):
            if site.specie.symbol != "S":
                continue
            bonded = [n for n in s.get_neighbors(site, 2.4) if n.specie.symbol == "B"]
            assert len(bonded) == 1, (k, [n.nn_distance for n in bonded])
            assert bonded[0].nn_distance == pytest.approx(1.81, abs=0.02)
        assert v.mean_distortion_index > 1e-3  # B on one site in three distorts the rings
        assert v.space_group_number > 1


def test_bad_sites() -> None:
    phase = read_cif(TABLE1)
    with pytest.raises(InputError, match="no site"):
        ordered_variants(phase, sites=("B9",))
    with pytest.raises(InputError, match="fully occupied"):
        ordered_variants(phase, sites=("Na1",))


def test_cli_order_json(monkeypatch, capsys) -> None:
    import json

    import xtal.cli as cli

    def register() -> None:
        from xtal.cli import analysis_cmd  # noqa: F401

    monkeypatch.setattr(cli, "_register", register)
    cli.main(["order", str(TABLE1), "--max-cells", "3", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["formula"] == "BNa3S3" for r in rows)
    assert all("derived model" in r["provenance"] and "411608" not in r["provenance"]
               for r in rows)


def _matches(a, b) -> bool:
    from pymatgen.analysis.structure_matcher import StructureMatcher
    from pymatgen.core import Lattice, Structure

    def pmg(phase):
        at = phase.atoms
        return Structure(Lattice(phase.cell.matrix), list(at.elements), at.frac)

    return StructureMatcher(primitive_cell=True, scale=False).fit(pmg(a), pmg(b))


def test_model_in_its_space_group_is_the_same_structure(variants) -> None:
    import spglib

    from xtal.analysis.symmetry import spglib_cell

    for v in variants:
        m = v.model
        assert m.space_group.number == v.space_group_number > 1
        assert len(m.sites) < len(v.phase.sites)  # an asymmetric unit, not every atom
        assert m.formula == "BNa3S3" and m.density == pytest.approx(v.phase.density, rel=1e-9)
        assert _matches(m, v.phase)
        # spglib finds the declared group of the written model at a tight tolerance
        ds = spglib.get_symmetry_dataset(spglib_cell(m)[0], symprec=1e-4)
        assert ds.number == m.space_group.number
    groups = sorted(v.space_group for v in variants)
    assert groups == ["Cc", "Cmc2_1"]


def test_written_cif_round_trip(variants, tmp_path: Path) -> None:
    import xtal
    from xtal.io.cif_write import write_cif

    for v in variants:
        path = write_cif(v.model, tmp_path / f"{v.model.name}.cif")
        text = path.read_text()
        assert "derived model made by xtal" in text and "411608" not in text
        back = xtal.load_phase(str(path))
        assert back.name == v.model.name and back.space_group.number == v.space_group_number
        assert _matches(back, v.phase)


def test_six_cells(tmp_path: Path) -> None:
    from xtal.analysis.rings import rings

    found = ordered_variants(read_cif(TABLE1), max_cells=6)
    cells = sorted(v.n_cells for v in found)
    assert cells[:2] == [3, 3] and 6 in cells  # the doubled stackings of the √3×√3 layer
    for v in found:
        if v.n_cells == 6:
            # four B–S layers in a c-doubled cell, each with its rings (the patch of a layer
            # at height 3/4 was once searched a period away)
            rep = rings(v.phase)
            assert len(rep.layers) >= 2 and all(layer.n_rings > 0 for layer in rep.layers)
            assert rep.mean_distortion_index == pytest.approx(found[0].mean_distortion_index,
                                                              rel=1e-3)
    names = [v.model.name for v in found]
    assert len(set(names)) == len(names)


def test_cli_order_out_and_limits(tmp_path: Path) -> None:
    import json

    from cli_helpers import run_xtal

    r = run_xtal(tmp_path, "order", str(TABLE1), "--max-cells", "6", "--out", "cand")
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path / "cand" / "candidates.json").read_text())
    cifs = sorted(p.name for p in (tmp_path / "cand").glob("*.cif"))
    assert cifs == sorted(f"{row['name']}.cif" for row in rows) and len(cifs) >= 3
    # full names in the table even though stdout is a pipe, not a terminal
    assert all(row["name"] in r.stdout for row in rows)
    before = (tmp_path / "cand" / "candidates.json").read_bytes()
    r = run_xtal(tmp_path, "order", str(TABLE1), "--out", "cand")
    assert r.returncode == 2 and "not empty" in r.stderr and len(r.stderr.splitlines()) == 1
    assert (tmp_path / "cand" / "candidates.json").read_bytes() == before
    for n, why in (("12", "C(24,8) = 735471"), ("0", "at least 1")):
        r = run_xtal(tmp_path, "order", str(TABLE1), "--max-cells", n)
        assert r.returncode == 2 and why in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and len(r.stderr) <= 300
