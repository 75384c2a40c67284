"""CIF reading: values, esds, ADPs, symmetry, Wyckoff letters, and every bad case."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from xtal.crystal.wyckoff import wyckoff_sites
from xtal.errors import InputError, InputWarning
from xtal.io.cif import DEFAULT_B_ISO, parse_number, read_cif, read_cifs

EIGHT_PI2 = 8 * np.pi**2

P3_HEAD = """\
# test file
data_t
_cell_length_a 3.901
_cell_length_b 3.901
_cell_length_c 7.422
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 120
"""
P3_OPS = """\
loop_
_space_group_symop_operation_xyz
'x,y,z'
'-y,x-y,z'
'-x+y,-x,z'
"""
SITES_HEAD = """\
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
_atom_site_B_iso_or_equiv
"""


def write(tmp_path: Path, text: str, name: str = "t.cif") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def good(sites: str = "Na1 Na1+ 0.6667 0.3333 0.2467 1 1.0\nS1 S2- 0 0 0 1 1.0\n") -> str:
    return P3_HEAD + P3_OPS + SITES_HEAD + sites


# -- numbers -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value", "esd"),
    [
        ("3.901(1)", 3.901, 0.001),
        ("0.2467(1)", 0.2467, 0.0001),
        ("2.54(9)", 2.54, 0.09),
        ("12(3)", 12.0, 3.0),
        ("1.5e-2(3)", 0.015, 0.003),
        ("-0.09500", -0.095, None),
        ("?", None, None),
        (".", None, None),
    ],
)
def test_parse_number(text: str, value: float | None, esd: float | None) -> None:
    v, e = parse_number(text)
    assert v == pytest.approx(value)
    assert e == pytest.approx(esd)


def test_parse_number_rejects_text() -> None:
    with pytest.raises(ValueError):
        parse_number("abc")


# -- the Table 1 file ----------------------------------------------------------------------
def test_table1_values_and_esds(shared: Path) -> None:
    ph = read_cif(shared / "structures" / "Na3BS3_trigonal_P3_table1.cif")
    assert ph.space_group.number == 143
    assert ph.cell.a == pytest.approx(3.901) and ph.cell.c == pytest.approx(7.422)
    assert ph.extra["esd"]["cell.a"] == pytest.approx(0.001)
    assert ph.extra["esd"]["sites.Na1.z"] == pytest.approx(0.0001)
    # 0.666667 is snapped onto the special position 2/3 exactly
    assert ph.site("Na1").xyz[:2] == (
        pytest.approx(2 / 3, abs=1e-12),
        pytest.approx(1 / 3, abs=1e-12),
    )
    assert ph.site("B1").occupancy == pytest.approx(1 / 3, abs=1e-6)
    assert all(s.b_iso == 1.0 for s in ph.sites)
    assert "D0MA00777C" in ph.provenance


def test_rounded_thirds_are_snapped(tmp_path: Path) -> None:
    # 0.6667/0.3333 would otherwise give three Na per site instead of one
    ph = read_cif(write(tmp_path, good()))
    assert ph.cell_contents == pytest.approx({"Na": 1.0, "S": 1.0})
    assert [s.element for s in ph.sites] == ["Na", "S"]  # charges stripped
    assert any("special position" in n for n in ph.extra["notes"])


# -- ADPs ----------------------------------------------------------------------------------
def test_u_iso_converted_and_default_adp(tmp_path: Path) -> None:
    text = (
        P3_HEAD
        + P3_OPS
        + "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
        "_atom_site_U_iso_or_equiv\nNa1 0 0 0 0.0125(5)\nS1 0.3333333 0.6666667 0.5 ?\n"
    )
    ph = read_cif(write(tmp_path, text))
    na, s = ph.sites
    assert (na.element, s.element) == ("Na", "S")  # from labels
    assert na.b_iso == pytest.approx(EIGHT_PI2 * 0.0125)
    assert ph.extra["esd"]["sites.Na1.b_iso"] == pytest.approx(EIGHT_PI2 * 0.0005)
    assert s.b_iso == DEFAULT_B_ISO and s.occupancy == 1.0


def test_aniso_u_gives_b_equivalent(tmp_path: Path) -> None:
    # an isotropic tensor on hexagonal axes (U11 = U22 = 2 U12 = U33 = u) has U_eq = u
    u = 0.02
    aniso = (
        "loop_\n_atom_site_aniso_label\n_atom_site_aniso_U_11\n_atom_site_aniso_U_22\n"
        "_atom_site_aniso_U_33\n_atom_site_aniso_U_12\n_atom_site_aniso_U_13\n"
        f"_atom_site_aniso_U_23\nNa1 {u} {u} {u} {u / 2} 0 0\n"
    )
    ph = read_cif(write(tmp_path, good("Na1 Na 0 0 0.1 1 ?\n") + aniso))
    na = ph.site("Na1")
    assert na.u_aniso == pytest.approx((u, u, u, u / 2, 0, 0))
    assert na.b_iso == pytest.approx(EIGHT_PI2 * u)


# -- symmetry ------------------------------------------------------------------------------
def test_old_symmetry_tags_and_hm_only(shared: Path) -> None:
    ps4 = read_cif(shared / "structures" / "Na3PS4_tetragonal_P-421c.cif")
    assert ps4.space_group.number == 114 and ps4.space_group.order == 8
    na2s = read_cif(shared / "structures" / "Na2S_antifluorite.cif")  # H-M + number only
    assert na2s.space_group.number == 225 and na2s.space_group.order == 192


def test_read_cifs_all_blocks_and_choosing_one(tmp_path: Path) -> None:
    text = good().replace("data_t", "data_first") + good().replace(
        "data_t", "data_second").replace("0.2467", "0.2500")
    phases = read_cifs(write(tmp_path, text))
    assert [p.name for p in phases] == ["t_first", "t_second"]
    path = write(tmp_path, text, "u.cif")
    with pytest.raises(InputError) as exc:  # two structures: never the first without a word
        read_cif(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: ") and "first, second" in msg and "u.cif#BLOCK" in msg
    second = read_cif(f"{path}#second")
    assert second.name == "u" and second.extra["data_block"] == "second"
    assert second.sites[0].xyz[2] == 0.25
    assert read_cif(path, block="FIRST").sites[0].xyz[2] == 0.2467
    with pytest.raises(InputError, match="no data block 'third'.*first, second"):
        read_cif(f"{path}#third")


# -- Wyckoff letters and multiplicities against independent references -----------------------
@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        # letters printed in the files (Table 1 of the paper; Sci. Rep. 6, 33733)
        ("structures/Na3BS3_trigonal_P3_table1.cif", "ccabba"),
        ("structures/Na2S_antifluorite.cif", "ac"),
        ("structures/Na3PS4_tetragonal_P-421c.cif", "dabe"),
        # FullProf .sum: Nb 16c, Rb 32e, O/F 48f (Fd-3m origin 2)
        ("real/rbnb2o5f_empyrean/RbNb2O5F.cif", "ceff"),
        # Pnma: mirror sites 4c, general 8d (IT Vol. A; the file's multiplicities 4,4,4,4,8)
        ("real/pbso4_cpd_xray/PbSO4-Wyckoff.cif", "ccccd"),
    ],
)
def test_computed_wyckoff_letters(shared: Path, rel: str, expected: str) -> None:
    ph = read_cif(shared / rel)
    computed = "".join(w.letter for w in wyckoff_sites(ph))
    assert computed == expected
    assert "".join(s.wyckoff for s in ph.sites) == expected


@pytest.mark.parametrize(
    "rel",
    [
        "real/pbso4_cpd_xray/PbSO4-Wyckoff.cif",
        "real/rbnb2o5f_empyrean/RbNb2O5F.cif",
        "structures/Na3PS4_tetragonal_P-421c.cif",
        "structures/Na2S_antifluorite.cif",
    ],
)
def test_multiplicity_and_composition_vs_pymatgen(shared: Path, rel: str) -> None:
    from pymatgen.io.cif import CifParser
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    ph = read_cif(shared / rel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = CifParser(shared / rel).parse_structures(primitive=False)[0]
    ref = {el.symbol: amt for el, amt in st.composition.items()}
    assert ph.cell_contents == pytest.approx(ref, rel=1e-4)
    # orbit sizes from spglib (via pymatgen) per element, against ours
    sym = SpacegroupAnalyzer(st, symprec=1e-3).get_symmetrized_structure()
    theirs = Counter()
    for group in sym.equivalent_sites:
        for sp in group[0].species:
            theirs[(sp.symbol, len(group))] += 1
    ours = Counter((s.element, s.multiplicity) for s in ph.sites)
    assert ours == theirs


def test_table1_composition_vs_pymatgen(shared: Path) -> None:
    from pymatgen.io.cif import CifParser

    path = shared / "structures" / "Na3BS3_trigonal_P3_table1.cif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = CifParser(path).parse_structures(primitive=False)[0]
    ref = {el.symbol: amt for el, amt in st.composition.items()}
    assert read_cif(path).cell_contents == pytest.approx(ref, rel=1e-5)


# -- bad files: one InputError naming the file, on one line ------------------------------------
BAD = {
    "not_cif": ("this is not a CIF\n'unbalanced", "CIF"),
    "empty": ("# only a comment\n", "no data block"),
    "no_cell": (good().replace("_cell_length_a 3.901\n", ""), "_cell_length_a"),
    "bad_element": (good("Xx1 Xx 0 0 0 1 1\n"), "unknown element 'Xx'"),
    "bad_symop": (good().replace("'-y,x-y,z'", "'-y,x-y,q'"), "symmetry operator"),
    "open_group": (good().replace("'-x+y,-x,z'\n", ""), "symmetry operators"),
    "hm_disagrees": (
        good().replace(
            "_cell_angle_gamma 120\n", "_cell_angle_gamma 120\n_space_group_IT_number 147\n"
        ),
        "disagrees",
    ),
    "occupancy": (good("Na1 Na 0 0 0 1.5 1\n"), "occupancy 1.5 > 1"),
    "negative_b": (good("Na1 Na 0 0 0 1 -20\n"), "negative ADP"),
    "no_sites": (P3_HEAD + P3_OPS, "no atom sites"),
    "unknown_sg": (
        P3_HEAD + "_space_group_name_H-M_alt 'P 7'\n" + SITES_HEAD + "Na1 Na 0 0 0 1 1\n",
        "P 7",
    ),
    "no_sg": (P3_HEAD + SITES_HEAD + "Na1 Na 0 0 0 1 1\n", "unknown space group"),
    "bad_number": (good("Na1 Na 0 0 zero 1 1\n"), "not a number"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_cifs(tmp_path: Path, case: str) -> None:
    text, phrase = BAD[case]
    path = write(tmp_path, text, f"{case}.cif")
    with pytest.raises(InputError) as exc:
        read_cif(path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(str(path))
    assert phrase in msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_cif(tmp_path / "nope.cif")


def test_slightly_negative_u_iso_is_a_warning(tmp_path: Path) -> None:
    text = good("Na1 Na 0 0 0 1 1\n").replace(
        "_atom_site_B_iso_or_equiv", "_atom_site_U_iso_or_equiv"
    )
    path = write(tmp_path, text.replace("0 0 0 1 1\n", "0 0 0 1 -0.01\n"))
    with pytest.warns(InputWarning, match=r"site Na1: negative ADP Uiso -0.01 Å²") as rec:
        ph = read_cif(path)
    assert str(path) in str(rec[0].message)
    assert ph.sites[0].b_iso == 0.0 and ph.extra["warnings"]
    with pytest.raises(InputError, match="negative ADP"):  # far below zero: an error
        read_cif(write(tmp_path, text.replace("0 0 0 1 1\n", "0 0 0 1 -0.2\n"), "n.cif"))


def test_unknown_symbol_with_operators_is_a_remark(tmp_path: Path) -> None:
    text = good().replace(P3_OPS, "_space_group_name_H-M_alt 'P 3 (weird)'\n" + P3_OPS)
    ph = read_cif(write(tmp_path, text))
    assert ph.space_group.number == 143
    assert any("ignored" in n for n in ph.extra["notes"])


def test_setting_unknown_to_spglib_gives_no_letter(tmp_path: Path) -> None:
    # 'P 21212(a)' (No. 18 with a shifted origin) is tabulated by gemmi but not by spglib:
    # letters cannot be mapped to the declared setting, so they are left blank
    import gemmi

    ops = [op.triplet() for op in gemmi.find_spacegroup_by_name("P 21212(a)").operations()]
    text = (
        P3_HEAD.replace("120", "90")
        + "loop_\n_space_group_symop_operation_xyz\n"
        + "".join(f"'{t}'\n" for t in ops)
        + SITES_HEAD
        + "S1 S 0.1 0.2 0.3 1 1\n"
    )
    ph = read_cif(write(tmp_path, text))
    assert ph.space_group.number == 18
    assert ph.sites[0].multiplicity == 4 and ph.sites[0].wyckoff == ""


def test_load_phase_with_a_block_in_the_name(tmp_path: Path, monkeypatch) -> None:
    import xtal

    text = good().replace("data_t", "data_first") + good().replace("data_t", "data_second")
    write(tmp_path, text, "two.cif")
    monkeypatch.chdir(tmp_path)
    assert xtal.load_phase("two.cif#second").extra["data_block"] == "second"
    with pytest.raises(InputError, match="holds 2 structures"):
        xtal.load_phase("two.cif")
