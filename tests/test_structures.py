"""Shipped structures, the user registry (add/list/load) and ``xtal structures``."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from xtal.app.structures import register_structure
from xtal.crystal.cell import Cell
from xtal.errors import InputError
from xtal.io.library import MONOCLINIC, SHIPPED, list_structures, load_phase

# ---------------------------------------------------------------------------------------------
# TEST-ONLY synthetic monoclinic Na3BS3 (P2_1/c, Z = 4).  NOT the real structure: a B with three
# S at 1.81 Å in a planar triangle and Na placed to keep atoms apart.  Never shipped.
# ---------------------------------------------------------------------------------------------
_CELL = Cell(6.6, 8.2, 9.4, 90, 104, 90)
_B = np.array([0.27, 0.18, 0.31])
_NA = [(0.277, 0.161, 0.97), (0.516, 0.116, 0.623), (0.777, 0.613, 0.917)]


def synthetic_monoclinic_cif(tmp_path: Path, pyramidal: bool = False) -> Path:
    m = _CELL.matrix
    u = np.array([1.0, 0.3, 0.2])
    u /= np.linalg.norm(u)
    v = np.cross(u, [0.0, 0.0, 1.0])
    v /= np.linalg.norm(v)
    bc = _B @ m
    s = [
        (bc + 1.81 * (np.cos(t) * u + np.sin(t) * v)) @ np.linalg.inv(m)
        for t in (0, 2.0944, 4.1888)
    ]
    b = _B if not pyramidal else (bc + 0.5 * np.cross(u, v)) @ np.linalg.inv(m)
    rows = [("B1", "B", b)] + [(f"S{i + 1}", "S", p) for i, p in enumerate(s)]
    rows += [(f"Na{i + 1}", "Na", np.array(p)) for i, p in enumerate(_NA)]
    text = (
        "# TEST-ONLY synthetic monoclinic Na3BS3 model built by the xtal test suite.\n"
        "# Not a real structure; not to be used for anything else.\n"
        "data_synthetic_test_only\n"
        f"_cell_length_a {_CELL.a}\n_cell_length_b {_CELL.b}\n_cell_length_c {_CELL.c}\n"
        "_cell_angle_alpha 90\n_cell_angle_beta 104\n_cell_angle_gamma 90\n"
        "_space_group_name_H-M_alt 'P 1 21/c 1'\n_space_group_IT_number 14\n"
        "loop_\n_space_group_symop_operation_xyz\n"
        "'x,y,z'\n'-x,y+1/2,-z+1/2'\n'-x,-y,-z'\n'x,-y+1/2,z+1/2'\n"
        "loop_\n_atom_site_label\n_atom_site_type_symbol\n"
        "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n_atom_site_B_iso_or_equiv\n"
    )
    text += "".join(f"{lab} {el} {x:.6f} {y:.6f} {z:.6f} 1.5\n" for lab, el, (x, y, z) in rows)
    path = tmp_path / ("pyramidal.cif" if pyramidal else "synthetic_monoclinic.cif")
    path.write_text(text)
    return path


@pytest.fixture
def datadir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "xtal-data"
    monkeypatch.setenv("XTAL_DATA_DIR", str(d))
    return d


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], int]:
    """Run ``xtal`` in-process; return its exit status."""
    import xtal.cli as cli_pkg
    import xtal.cli.structures_cmd  # noqa: F401  (registers the sub-app)

    # only the command under test: other command modules may be work in progress
    monkeypatch.setattr(cli_pkg, "_register", lambda: None)

    def run(args: list[str]) -> int:
        try:
            cli_pkg.main(args)
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    return run


# -- shipped -------------------------------------------------------------------------------
def test_shipped_files_are_package_data() -> None:
    names = {p.name for p in resources.files("xtal.structures").iterdir()}
    assert set(SHIPPED.values()) <= names


@pytest.mark.parametrize(
    ("name", "canonical", "formula", "number"),
    [
        ("Na3BS3-trigonal", "Na3BS3-trigonal", {"Na": 3, "B": 1, "S": 3}, 143),
        ("na3bs3-TRIGONAL", "Na3BS3-trigonal", {"Na": 3, "B": 1, "S": 3}, 143),
        ("na2s", "Na2S", {"Na": 2, "S": 1}, 225),
        ("Na3PS4-tetragonal", "Na3PS4-tetragonal", {"Na": 3, "P": 1, "S": 4}, 114),
    ],
)
def test_load_shipped(name: str, canonical: str, formula: dict, number: int) -> None:
    ph = load_phase(name)
    assert ph.name == canonical
    assert ph.formula_and_z[0] == formula
    assert ph.space_group.number == number
    assert ph.provenance


def test_shipped_trigonal_equals_table1(shared: Path) -> None:
    ours = load_phase("Na3BS3-trigonal")
    ref = load_phase(shared / "structures" / "Na3BS3_trigonal_P3_table1.cif")
    assert ours.cell.parameters == ref.cell.parameters
    for a, b in zip(ours.sites, ref.sites, strict=True):
        assert (a.label, a.element, a.wyckoff, a.occupancy, a.b_iso) == (
            b.label,
            b.element,
            b.wyckoff,
            b.occupancy,
            b.b_iso,
        )
        assert a.xyz == pytest.approx(b.xyz, abs=1e-12)
    for phrase in ("D0MA00777C", "Table 1", "Z = 1", "2/3"):
        assert phrase in ours.provenance


def test_load_by_path_with_name(shared: Path) -> None:
    ph = load_phase(str(shared / "structures" / "Na2S_antifluorite.cif"), name="impurity")
    assert ph.name == "impurity"


# -- registry ------------------------------------------------------------------------------
def test_monoclinic_not_shipped(datadir: Path) -> None:
    with pytest.raises(InputError) as exc:
        load_phase("Na3BS3-monoclinic")
    msg = str(exc.value)
    assert "ICSD 411608" in msg and "xtal structures add" in msg and "\n" not in msg


def test_unknown_name(datadir: Path) -> None:
    with pytest.raises(InputError, match="unknown structure 'nope'"):
        load_phase("nope")


def test_register_rejects_trigonal_as_monoclinic(datadir: Path) -> None:
    trig = resources.files("xtal.structures") / SHIPPED["Na3BS3-trigonal"]
    with pytest.raises(InputError) as exc:
        register_structure(Path(str(trig)), MONOCLINIC)
    assert "not monoclinic" in str(exc.value) and "trigonal" in str(exc.value)
    assert not any(datadir.rglob("*.cif"))  # nothing written


def test_register_rejects_pyramidal_bs3(datadir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="planar"):
        register_structure(synthetic_monoclinic_cif(tmp_path, pyramidal=True), MONOCLINIC)


def test_register_rejects_wrong_composition(datadir: Path, shared: Path) -> None:
    with pytest.raises(InputError, match="not Na3BS3"):
        register_structure(shared / "structures" / "Na3PS4_tetragonal_P-421c.cif", MONOCLINIC)


def test_register_list_load(datadir: Path, tmp_path: Path) -> None:
    src = synthetic_monoclinic_cif(tmp_path)
    info = register_structure(src, MONOCLINIC)
    assert info.path == datadir / "structures" / f"{MONOCLINIC}.cif"
    assert info.path.read_bytes() == src.read_bytes()
    index = json.loads((datadir / "structures" / "index.json").read_text())
    entry = index["structures"][MONOCLINIC.lower()]
    assert entry["original_path"] == str(src.resolve()) and len(entry["sha256"]) == 64
    # only the CIF and the index: no temporary leftovers
    assert sorted(p.name for p in (datadir / "structures").iterdir()) == [
        f"{MONOCLINIC}.cif",
        "index.json",
    ]
    ph = load_phase("na3bs3-MONOCLINIC")
    assert ph.name == MONOCLINIC and ph.space_group.crystal_system == "monoclinic"
    assert "TEST-ONLY" in ph.provenance and "registered as" in ph.provenance
    kinds = {i.name: i.kind for i in list_structures()}
    assert kinds[MONOCLINIC] == "registered" and kinds["Na2S"] == "shipped"
    with pytest.raises(InputError, match="already registered"):
        register_structure(src, MONOCLINIC)
    register_structure(src, MONOCLINIC, force=True)


def test_register_other_name_and_shipped_name(datadir: Path, shared: Path) -> None:
    path = shared / "structures" / "Na3BS3_trigonal_P3_table1.cif"
    register_structure(path, "my-trigonal")
    assert load_phase("MY-TRIGONAL").name == "my-trigonal"
    with pytest.raises(InputError, match="shipped"):
        register_structure(path, "na2s")
    with pytest.raises(InputError, match="structure name"):
        register_structure(path, "bad name/x")


# -- CLI -----------------------------------------------------------------------------------
def test_cli_add_rejects_with_one_line(
    datadir: Path, cli: Callable[[list[str]], int], capsys: pytest.CaptureFixture[str]
) -> None:
    trig = str(resources.files("xtal.structures") / SHIPPED["Na3BS3-trigonal"])
    assert cli(["structures", "add", trig, "--name", MONOCLINIC]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not monoclinic" in err and "Na3BS3_trigonal" in err


def test_cli_show_missing_monoclinic(
    datadir: Path, cli: Callable[[list[str]], int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["structures", "show", MONOCLINIC]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "ICSD 411608" in err


def test_cli_add_list_show(
    datadir: Path,
    tmp_path: Path,
    cli: Callable[[list[str]], int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    src = str(synthetic_monoclinic_cif(tmp_path))
    assert cli(["structures", "add", src, "--name", MONOCLINIC]) == 0
    assert cli(["structures", "add", src, "--name", MONOCLINIC]) == 2
    assert cli(["structures", "add", src, "--name", MONOCLINIC, "--force"]) == 0
    capsys.readouterr()
    assert cli(["structures", "list"]) == 0
    out = capsys.readouterr().out
    assert MONOCLINIC in out and "registered" in out and "Na3BS3-trigonal" in out
    assert cli(["structures", "show", "Na3BS3-trigonal"]) == 0
    out = capsys.readouterr().out
    assert "1c" in out and "Z = 2/3" in out and "1.991" in out
