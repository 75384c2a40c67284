"""CIF writer: esd formatting (IUCr 19 rule, checked by hand), read-back by gemmi, PyCifRW,
pymatgen and ASE against the source CIF, and the P1 expansion against pymatgen's."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from xtal.crystal.phase import Phase
from xtal.errors import InputError
from xtal.io.cif import read_cif
from xtal.io.cif_write import format_cif, format_esd, write_cif

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = {
    "trigonal": DATA / "structures" / "Na3BS3_trigonal_P3_table1.cif",
    "Na3PS4": DATA / "structures" / "Na3PS4_tetragonal_P-421c.cif",
    "PbSO4": DATA / "real" / "pbso4_cpd_xray" / "PbSO4-Wyckoff.cif",
    "Na2S": DATA / "structures" / "Na2S_antifluorite.cif",
}
DIGITS = 6  # coordinates and occupancies are written with six decimals


@pytest.mark.parametrize(
    ("value", "esd", "text"),
    [
        (3.9012, 0.0004, "3.9012(4)"),
        (0.2467, 0.0003, "0.2467(3)"),
        (0.2467, 0.0001, "0.24670(10)"),  # leading digit 1: two digits
        (1.2345, 0.0015, "1.2345(15)"),  # leading digits ≤ 19: two digits
        (1.23456, 0.0023, "1.235(2)"),  # > 19: one digit, value rounded to match
        (8.480297, 0.000097, "8.4803(1)"),  # esd rounds up to the next decade
        (-0.09302, 0.00021, "-0.0930(2)"),
        (12.5, 1.5, "12.5(15)"),
        (1234.5, 25.0, "1230(30)"),
        (0.333333, None, "0.333333"),
        (1.0, 0.0, "1.0"),
    ],
)
def test_format_esd(value: float, esd: float | None, text: str) -> None:
    assert format_esd(value, esd) == text


def _pmg(path: Path):
    from pymatgen.io.cif import CifParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CifParser(str(path)).parse_structures(primitive=False)[0]


def _site_set(structure) -> list[tuple]:
    out = []
    for site in structure:
        frac = np.round(np.asarray(site.frac_coords) % 1.0, 4) % 1.0
        species = tuple(sorted((str(e), round(o, 4)) for e, o in site.species.items()))
        out.append((species, *frac))
    return sorted(out)


def _number(text: str) -> float:
    return float(str(text).split("(")[0])


@pytest.fixture(scope="module", params=sorted(SOURCES))
def written(request, tmp_path_factory) -> tuple[Phase, Path, Path]:
    src = SOURCES[request.param]
    phase = read_cif(src)
    out = tmp_path_factory.mktemp("cif") / f"{request.param}.cif"
    write_cif(phase, out, provenance="test export", rwp=9.87)
    return phase, src, out


def test_gemmi_reads_back(written) -> None:
    import gemmi

    phase, _, out = written
    ss = gemmi.read_small_structure(str(out))
    np.testing.assert_allclose(ss.cell.parameters, phase.cell.parameters, atol=1e-9)
    assert gemmi.find_spacegroup_by_name(ss.spacegroup_hm).number == phase.space_group.number
    assert [s.label for s in ss.sites] == [s.label for s in phase.sites]
    for g, s in zip(ss.sites, phase.sites, strict=True):
        assert g.element.name == s.element
        np.testing.assert_allclose(g.fract.tolist(), s.xyz, atol=0.5 * 10**-DIGITS)
        assert g.occ == pytest.approx(s.occupancy, abs=0.5 * 10**-DIGITS)
    block = gemmi.cif.read(str(out)).sole_block()
    assert len(block.find_loop("_symmetry_equiv_pos_as_xyz")) == phase.space_group.order
    assert len(block.find_loop("_space_group_symop_operation_xyz")) == phase.space_group.order


def test_pycifrw_reads_back(written) -> None:
    import CifFile

    phase, _, out = written
    block = CifFile.ReadCif(str(out)).first_block()
    for key in ("a", "b", "c"):
        assert _number(block[f"_cell_length_{key}"]) == pytest.approx(getattr(phase.cell, key))
    assert int(block["_space_group_IT_number"]) == phase.space_group.number
    assert list(block["_atom_site_label"]) == [s.label for s in phase.sites]
    occ = [_number(v) for v in block["_atom_site_occupancy"]]
    np.testing.assert_allclose(occ, [s.occupancy for s in phase.sites], atol=1e-6)
    mult = [int(v) for v in block["_atom_site_symmetry_multiplicity"]]
    assert mult == [phase.site_multiplicity(i) for i in range(len(phase.sites))]


def test_pymatgen_reads_same_structure_as_source(written) -> None:
    _, src, out = written
    a, b = _pmg(src), _pmg(out)
    np.testing.assert_allclose(b.lattice.parameters, a.lattice.parameters, atol=1e-6)
    assert _site_set(b) == _site_set(a)


def test_ase_reads_back(written) -> None:
    import ase.io

    phase, _, out = written
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        atoms = ase.io.read(str(out), format="cif")
    np.testing.assert_allclose(atoms.cell.cellpar(), phase.cell.parameters, atol=1e-6)
    assert len(atoms) == len(phase.atoms)
    occupancy = atoms.info.get("occupancy")
    if occupancy is not None:  # ASE ≥ 3.23 keeps them per asymmetric-unit site
        got = [next(iter(occupancy[str(k)].values())) for k in range(len(phase.sites))]
        np.testing.assert_allclose(got, [s.occupancy for s in phase.sites], atol=1e-6)


def test_esds_and_provenance_written() -> None:
    phase = read_cif(SOURCES["trigonal"])
    text = format_cif(phase, esds={"sites.B1.occ": 0.012}, rwp=9.87, provenance="my fit")
    assert "_cell_length_a                   3.9010(10)" in text
    assert "0.24670(10)" in text  # Na1 z with the source's esd
    assert "0.333(12)" in text  # an esd given as argument
    assert "Rwp = 9.87 %" in text and "my fit" in text and "xtal 0.1.0" in text
    assert "_cell_formula_units_Z            1" in text  # Z = 2/3 cannot be written
    assert "'B0.6667 Na2 S2'" in text


def test_p1_expansion_matches_pymatgen(tmp_path: Path) -> None:
    from pymatgen.analysis.diffraction.xrd import XRDCalculator

    for name in ("PbSO4", "Na3PS4", "trigonal"):
        phase = read_cif(SOURCES[name])
        sym, p1 = tmp_path / f"{name}.cif", tmp_path / f"{name}_p1.cif"
        write_cif(phase, sym)
        write_cif(phase, p1, p1=True)
        a, b = _pmg(sym), _pmg(p1)
        assert len(b) == len(phase.atoms)
        assert _site_set(b) == _site_set(a)
        calc = XRDCalculator()
        pa, pb = calc.get_pattern(a), calc.get_pattern(b)
        np.testing.assert_allclose(pb.x, pa.x, atol=1e-6)
        np.testing.assert_allclose(pb.y, pa.y, rtol=1e-6, atol=1e-6)


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    phase = read_cif(SOURCES["Na2S"])
    out = tmp_path / "x.cif"
    write_cif(phase, out)
    with pytest.raises(InputError, match="exists"):
        write_cif(phase, out)
    write_cif(phase, out, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["x.cif"]  # no temporary left


def test_duplicate_labels_made_unique() -> None:
    from dataclasses import replace

    import gemmi

    phase = read_cif(SOURCES["trigonal"])
    # labels that differ only in case collide in case-insensitive readers
    sites = [replace(s, label="s1") if s.label == "S2" else s for s in phase.sites]
    text = format_cif(phase.with_sites(sites))
    block = gemmi.cif.read_string(text).sole_block()
    labels = [s.label for s in gemmi.make_small_structure_from_block(block).sites]
    assert len(labels) == len(phase.sites)
    assert len({x.lower() for x in labels}) == len(labels)


def test_cli_export(monkeypatch, capsys, tmp_path: Path) -> None:
    import xtal.cli as cli

    def register() -> None:
        from xtal.cli import analysis_cmd  # noqa: F401

    monkeypatch.setattr(cli, "_register", register)
    out = tmp_path / "t.cif"
    cli.main(["export", str(SOURCES["trigonal"]), "--cif", str(out), "--p1"])
    assert out.exists() and "_space_group_IT_number           1" in out.read_text()
    with pytest.raises(SystemExit) as stop:
        cli.main(["export", str(SOURCES["trigonal"]), "--cif", str(out)])
    assert stop.value.code == 2 and "exists" in capsys.readouterr().err
    cli.main(["export", str(SOURCES["trigonal"]), "--cif", str(out), "--force"])
    assert "_space_group_IT_number           143" in out.read_text()
