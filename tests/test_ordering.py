"""Ordered variants of trigonal Na3BS3: the √3×√3 cell is found; after relaxation every S
binds exactly one B at 1.81 ± 0.02 Å (checked with pymatgen's neighbour search)."""

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
        assert "derived model" in phase.provenance and "not ICSD 411608" in phase.provenance
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
    assert all("not ICSD 411608" in r["provenance"] for r in rows)
