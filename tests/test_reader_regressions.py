"""Regression tests for every cause listed in issue 12 (readers that crashed, hung or
read silently wrong), one test per cause, each on a small file written here.

The checks compare with what the file states (a count, a wavelength, an angle), with
International Tables facts (multiplicities, metric of a crystal system) or with the
rule a reference program documents (GSAS-II's weights), never with xtal's own output.
"""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_patterns import X, Y, brml_file, ras_file, rasx_file, raw_v3, xrdml_file

from xtal.crystal.cell import Cell
from xtal.crystal.phase import Phase, Site
from xtal.crystal.spacegroup import SpaceGroup
from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError, InputWarning, XtalError
from xtal.io.cif import read_cif
from xtal.io.instprm import read_instrument
from xtal.io.patterns import read_one, read_pattern

SITES = """loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_U_iso_or_equiv
"""


def cell(a, b, c, al=90, be=90, ga=90) -> str:
    return (f"_cell_length_a {a}\n_cell_length_b {b}\n_cell_length_c {c}\n"
            f"_cell_angle_alpha {al}\n_cell_angle_beta {be}\n_cell_angle_gamma {ga}\n")


def cif(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def refused(fn, path: Path, *fragments: str) -> str:
    """The one-line message of the InputError raised by ``fn(path)``, checked."""
    with pytest.raises(InputError) as err:
        fn(path)
    msg = str(err.value)
    assert msg.startswith(str(path).split("#")[0]) and "\n" not in msg, msg
    assert len(msg) <= len(str(path)) + 300, msg
    for frag in fragments:
        assert frag in msg, msg
    return msg


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# -- CIF numbers and cells -------------------------------------------------------------------
P1 = "_symmetry_space_group_name_H-M 'P 1'\n"


@pytest.mark.parametrize(("name", "text", "fragment"), [
    ("overflow", "data_x\n" + cell("8.48e400", 5, 5) + P1 + SITES + "Na1 Na 0 0 0 0.01\n",
     "'8.48e400' is beyond the range of numbers"),
    ("it_inf", "data_x\n" + cell(5, 5, 5) + "_space_group_IT_number inf\n" + SITES
     + "Na1 Na 0 0 0 0.01\n", "'inf' is not an integer 1–230"),
    ("angle_1e-300", "data_x\n" + cell(5, 5, 5, "1e-300") + P1 + SITES + "Na1 Na 0 0 0 0.01\n",
     "do not describe a real cell"),
    ("coordinate_1e12", "data_x\n" + cell(5, 5, 5) + P1 + SITES
     + "Na1 Na 999999999999 0 0 0.01\n", "outside ±10"),
    ("length_0", "data_x\n" + cell(0, 5, 5) + P1 + SITES + "Na1 Na 0 0 0 0.01\n",
     "outside 0.5–2000 Å"),
    ("5000_digits", "data_x\n" + cell("9" * 5000, 5, 5) + P1 + SITES + "Na1 Na 0 0 0 0.01\n",
     "is not a number"),
])
def test_cif_numbers_and_cells_that_crashed_or_hung(tmp_path: Path, name: str, text: str,
                                                     fragment: str) -> None:
    # before: OverflowError, a segmentation fault in spglib (angle 1e-300), 13-150 s in spglib
    refused(read_cif, cif(tmp_path / f"{name}.cif", text), fragment)


def test_cif_in_latin1_utf8_bom_and_utf16(tmp_path: Path) -> None:
    text = ("data_x\n_journal_name_full 'Zeitschrift f\u00fcr Kristallographie'\n"
            + cell(5, 5, 5) + P1 + SITES + "Na1 Na 0 0 0 0.01\n")
    for enc in ("latin-1", "utf-8-sig", "utf-16", "utf-16-le"):
        ph = read_cif(cif(tmp_path / f"{enc}.cif", text, enc))
        assert "Zeitschrift für Kristallographie" in ph.provenance, enc


def test_tiny_occupancies_give_a_formula(tmp_path: Path) -> None:
    # before: ZeroDivisionError in Phase.formula (every count rounded to 0 at denominator 48)
    text = ("data_x\n" + cell(5, 5, 5) + P1 + "loop_\n_atom_site_label\n_atom_site_fract_x\n"
            "_atom_site_fract_y\n_atom_site_fract_z\n_atom_site_occupancy\n"
            "Na1 0 0 0 0.001\nCl1 0.5 0.5 0.5 0.002\n")
    ph = read_cif(cif(tmp_path / "tiny.cif", text))
    assert ph.formula == "Cl2Na" and float(ph.formula_and_z[1]) == pytest.approx(0.001)


# -- a cell that contradicts its space group -------------------------------------------------
BI2TE3_R = ("data_x\n" + cell(10.473, 10.473, 10.473, 24.17, 24.17, 24.17) + "{sg}\n" + SITES
            + "Bi1 Bi 0.4 0.4 0.4 0.01\nTe1 Te 0 0 0 0.01\nTe2 Te 0.79 0.79 0.79 0.01\n")


@pytest.mark.parametrize("sg", ["_symmetry_space_group_name_H-M 'R -3 m'",
                                "_space_group_IT_number 166"])
def test_rhombohedral_cell_gets_the_rhombohedral_setting(tmp_path: Path, sg: str) -> None:
    # Bi2Te3 on rhombohedral axes: Bi 2c, Te 1a + 2c (IT Vol. A, R-3m:R) = 5 atoms, not 75
    ph = read_cif(cif(tmp_path / "bi2te3.cif", BI2TE3_R.format(sg=sg)))
    assert ph.space_group.symbol == "R -3 m:R" and ph.space_group.order == 12
    assert len(ph.atoms) == 5 and ph.formula == "Bi2Te3"
    assert any("rhombohedral axes" in n for n in ph.extra["notes"])


def test_cell_fitting_neither_rhombohedral_setting_names_both(tmp_path: Path) -> None:
    text = ("data_x\n" + cell(4.38, 4.5, 30.5, 90, 90, 120)
            + "_symmetry_space_group_name_H-M 'R -3 m'\n" + SITES + "Bi1 Bi 0 0 0.4 0.01\n")
    refused(read_cif, cif(tmp_path / "r.cif", text), "R -3 m:H", "R -3 m:R")


@pytest.mark.parametrize(("sg", "angles", "fragment"), [
    ("P 3", (90, 90, 90), "contradicts the trigonal symmetry of P 3"),
    ("P 63/m m c", (90, 90, 90), "contradicts the hexagonal symmetry"),
    ("P 1 21/c 1", (90, 90, 100), "contradicts the monoclinic symmetry"),
])
def test_angles_contradicting_the_group_are_refused(tmp_path: Path, sg: str, angles: tuple,
                                                    fragment: str) -> None:
    text = ("data_x\n" + cell(3.9, 3.9, 7.4, *angles) + f"_symmetry_space_group_name_H-M '{sg}'\n"
            + SITES + "Na1 Na 0.1 0.2 0.3 0.01\n")
    refused(read_cif, cif(tmp_path / "g.cif", text), fragment)


def test_cubic_group_with_unequal_axes_is_refused(tmp_path: Path) -> None:
    # before: accepted, and spglib then took 6-11 s on it
    text = ("data_x\n" + cell(5.4, 5.5, 5.4) + "_symmetry_space_group_name_H-M 'F m -3 m'\n"
            + SITES + "Na1 Na 0 0 0 0.01\n")
    refused(read_cif, cif(tmp_path / "c.cif", text), "contradicts the cubic symmetry")
    rounded = text.replace("5.5", "5.4001")  # a rounding in the last digit: made exact
    ph = read_cif(cif(tmp_path / "r.cif", rounded))
    assert ph.cell.a == ph.cell.b == pytest.approx(ph.cell.c, abs=1e-12)
    assert any("made exact" in n for n in ph.extra["notes"])


def test_unknown_angle_fixed_by_symmetry_is_set_from_it(tmp_path: Path) -> None:
    # before: a hexagonal group with _cell_angle_gamma ? silently got γ = 90°
    text = ("data_x\n" + cell(3.9, 3.9, 7.4, 90, 90, "?") + "_symmetry_space_group_name_H-M 'P 3'\n"
            + SITES + "Na1 Na 0.6667 0.3333 0.25 0.01\n")
    ph = read_cif(cif(tmp_path / "g.cif", text))
    assert ph.cell.gamma == 120.0
    assert any("γ not given: 120°" in n for n in ph.extra["notes"])
    free = text.replace("'P 3'", "'P 1 21/c 1'").replace("_cell_angle_gamma ?",
                                                        "_cell_angle_gamma 90").replace(
        "_cell_angle_beta 90", "_cell_angle_beta ?")
    refused(read_cif, cif(tmp_path / "m.cif", free), "β", "does not fix it")


# -- names ------------------------------------------------------------------------------------
def test_tutorial_cifs_named_by_pd_phase_name_and_uiso_warning(shared: Path) -> None:
    d = shared / "real" / "cucr2o4_cuo_seq_11bm"
    with pytest.warns(InputWarning, match=r"site O: negative ADP Uiso -0.004 Å²"):
        cucr2o4 = read_cif(d / "CuCr2O4.cif")
    cuo = read_cif(d / "CuO.cif")
    # both files have the data block '2p10h'; the names come from _pd_phase_name
    assert cucr2o4.extra["data_block"] == cuo.extra["data_block"] == "2p10h"
    assert (cucr2o4.name, cuo.name) == ("CuCr2O4", "CuO")
    assert cucr2o4.site("O").b_iso == 0.0 and cucr2o4.extra["warnings"]
    # Fddd origin 2, Z = 8: Cu 8a, Cr 16d, O 32h (IT Vol. A)
    assert [s.multiplicity for s in cucr2o4.sites] == [8, 16, 32]


def test_names_from_files_are_made_path_safe_and_given_ones_checked(tmp_path: Path) -> None:
    text = "data_x\n" + cell(5, 5, 5) + P1 + SITES + "Na1 Na 0 0 0 0.01\n"
    assert read_cif(cif(tmp_path / "my phase.v2.cif", text)).name == "my_phase_v2"
    for bad in ("Lead sulfate", "a.b", "x*", "q?", "[1]", "a=b", "a,b", "a:b"):
        named = text.replace("data_x\n", f"data_x\n_pd_phase_name '{bad}'\n")
        refused(read_cif, cif(tmp_path / "n.cif", named), "_pd_phase_name", "breaks parameter")
    refused(read_cif, cif(tmp_path / "l.cif", text.replace("Na1 Na", "Na1.b Na")),
            "site label 'Na1.b'")
    with pytest.raises(InputError, match="phase name 'a.b'"):
        read_cif(tmp_path / "my phase.v2.cif", name="a.b")


# -- radiation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "nan", "-1.5406", "inf", "12"])
def test_xrdml_wavelength_stated_wrong_is_refused(tmp_path: Path, value: str) -> None:
    # before: kAlpha1 = 0 silently became Cu Kα1 downstream; NaN/inf were returned as such
    data = xrdml_file([(X, Y, False)]).replace(b"<kAlpha1>1.78901", f"<kAlpha1>{value}".encode())
    refused(read_pattern, _write(tmp_path / "w.xrdml", data), "kAlpha1")


@pytest.mark.parametrize(("fmt", "fragment"), [("ratio", "outside 0–1"),
                                               ("alpha2", "outside 0.05–5 Å")])
def test_brml_and_rasx_radiation_checked(tmp_path: Path, fmt: str, fragment: str) -> None:
    brml = brml_file(X, Y)
    if fmt == "ratio":
        brml = _rezip(brml, lambda b: b.replace(b'Ratio Value="0.5"', b'Ratio Value="-2"'))
    else:
        brml = _rezip(brml, lambda b: b.replace(b'Alpha2 Value="1.54439"', b'Alpha2 Value="NaN"'))
    refused(read_pattern, _write(tmp_path / "b.brml", brml), fragment)
    rasx = _rezip(rasx_file(X, Y), lambda b: b.replace(b"1.540593", b"-1"))
    refused(read_pattern, _write(tmp_path / "r.rasx", rasx), "WavelengthKalpha1 -1")


def _rezip(data: bytes, edit) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, edit(src.read(info)))
    return buf.getvalue()


def test_instrument_values_out_of_range(tmp_path: Path) -> None:
    from test_instprm import GOOD

    for old, new, fragment in (("Lam1:1.540593", "Lam1:7.1", "outside 0.05–5 Å"),
                               ("I(L2)/I(L1):0.5", "I(L2)/I(L1):1.5", "outside 0–1"),
                               ("Zero:0.0", "Zero:45", "±10°"),
                               ("Lam1:1.540593", "Lam1:1e400", "finite")):
        refused(read_instrument, _write(tmp_path / "i.instprm", GOOD.replace(old, new)), fragment)
    # before: ValueError (int of a 5000-digit bank number); now such a line is no bank header
    text = "#Bank " + "9" * 5000 + ": x\n" + GOOD
    assert read_instrument(_write(tmp_path / "b.instprm", text)).lam1 == 1.540593


def test_goniometer_radius_read_where_a_file_states_it(tmp_path: Path) -> None:
    from test_instprm import GOOD

    ins = read_instrument(_write(tmp_path / "c.instprm",
                                 GOOD + "# Goniometer radius = 240 mm (Empyrean)\n"))
    assert ins.radius == 240.0
    assert read_pattern(_write(tmp_path / "r.raw", raw_v3([(20.0, 0.02, Y)])))[0].metadata[
        "radius_mm"] == 217.5  # the value packed at byte 564 by the builder
    refused(read_instrument, _write(tmp_path / "z.instprm", GOOD + "Gonio. radius:0\n"),
            "radius 0.0 mm")


# -- zip members, sizes, regular expressions -----------------------------------------------------
def test_zip_member_with_unsupported_compression(tmp_path: Path) -> None:
    # before: NotImplementedError / LZMAError escaped the sniffer and the reader
    data = bytearray(rasx_file(X, Y))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # local and central headers: method 99
        at = data.find(sig)
        while at >= 0:
            off = at + (8 if sig == b"PK\x03\x04" else 10)
            struct.pack_into("<H", data, off, 99)
            at = data.find(sig, at + 4)
    refused(read_pattern, _write(tmp_path / "m.rasx", bytes(data)), "Rigaku RASX")
    lz = io.BytesIO()
    with zipfile.ZipFile(lz, "w", zipfile.ZIP_LZMA) as z:
        z.writestr("Data0/Profile0.txt", "".join(f"{a} {b}\n" for a, b in zip(X, Y, strict=True)))
    damaged = bytearray(lz.getvalue())
    damaged[60:70] = b"\xff" * 10  # inside the LZMA stream
    refused(read_pattern, _write(tmp_path / "l.rasx", bytes(damaged)), "RASX")


def test_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path, monkeypatch) -> None:
    import xtal.io.formats._common as common

    monkeypatch.setattr(common, "MAX_MEMBER_BYTES", 50_000)
    big = np.linspace(20, 80, 4000)
    refused(read_pattern, _write(tmp_path / "b.brml", brml_file(big, np.ones_like(big))),
            "uncompressed (limit 50000)")


@pytest.mark.parametrize(("name", "text"), [
    ("lambda.xy", "# lambda" + " " * 200_000 + "\n10 1\n11 2\n"),
    ("wave.xy", "# wavelength =" + " " * 200_000 + "x\n10 1\n11 2\n"),
    ("digits.xy", "9" * 200_000 + "x 1\n10 1\n11 2\n"),
    ("key.ras", "*RAS_DATA_START\n*RAS_HEADER_START\n*FILE_SAMPLE \"" + " " * 200_000
     + "x\n*RAS_HEADER_END\n*RAS_INT_START\n10 1\n11 2\n*RAS_INT_END\n"),
])
def test_pathological_headers_read_in_linear_time(tmp_path: Path, name: str, text: str) -> None:
    # before: 247 s (three quadratic regular expressions); a subprocess with a generous limit
    # tells a hang from a result (the figure that matters is in bench/readers.py)
    path = _write(tmp_path / name, text)
    code = ("import sys\nfrom xtal.io.patterns import read_pattern\nfrom xtal.errors import "
            "InputError\ntry: print(read_pattern(sys.argv[1])[0].x.size)\n"
            "except InputError as e: print('refused', e)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in ("2", ) or done.stdout.startswith("refused"), done.stdout


def test_pathological_cif_number_is_linear(tmp_path: Path) -> None:
    text = "data_x\n" + cell("1" * 100_000 + "x", 5, 5) + P1 + SITES + "Na1 Na 0 0 0 0.01\n"
    code = ("import sys\nfrom xtal.io.cif import read_cif\nfrom xtal.errors import InputError\n"
            "try: read_cif(sys.argv[1])\nexcept InputError as e: print('refused', e)")
    done = subprocess.run([sys.executable, "-c", code, str(cif(tmp_path / "n.cif", text))],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("refused") and "is not a number" in done.stdout


# -- text encodings ------------------------------------------------------------------------------
def test_pattern_text_in_utf16_and_with_bom(tmp_path: Path) -> None:
    # before: UTF-16 files were called "binary"
    text = "# 2theta intensity\n" + "".join(f"{a:.2f} {b:.0f}\n" for a, b in zip(X, Y,
                                                                               strict=True))
    for enc in ("utf-16", "utf-16-le", "utf-8-sig"):
        p = read_pattern(_write(tmp_path / f"{enc}.xy", text.encode(enc)))[0]
        np.testing.assert_allclose(p.y, Y)


# -- units from headers ---------------------------------------------------------------------------
def test_two_theta_in_radians_is_converted(tmp_path: Path) -> None:
    # before: read as degrees (0.17-1.40°)
    rad = np.radians(X)
    text = "# 2theta (rad)  intensity\n" + "".join(f"{a:.8f} {b:.0f}\n" for a, b in
                                                   zip(rad, Y, strict=True))
    p = read_pattern(_write(tmp_path / "rad.xy", text))[0]
    np.testing.assert_allclose(p.x, X, atol=1e-5)
    assert p.metadata["two_theta_unit_in_file"] == "rad"
    refused(read_pattern, _write(tmp_path / "wrong.xy", text.replace(f"{rad[0]:.8f}", "20.0")),
            "radians")


def test_counts_per_second_with_a_counting_time_become_counts(tmp_path: Path) -> None:
    # before: cps with decimals weighted as counts (σ = √cps)
    t = 7.5
    cps = Y / t
    text = ("# 2theta  intensity (cps)\n# time per step = 7.5 s\n"
            + "".join(f"{a:.2f} {b:.6f}\n" for a, b in zip(X, cps, strict=True)))
    p = read_pattern(_write(tmp_path / "cps.xy", text))[0]
    np.testing.assert_allclose(p.y, Y, rtol=1e-6)  # counts again
    np.testing.assert_allclose(p.esd(), np.sqrt(Y), rtol=1e-6)  # Poisson σ of the counts
    assert p.metadata["count_time_s"] == t and p.metadata["intensity_unit"] == "counts"


def test_counts_per_second_without_a_time_warn(tmp_path: Path) -> None:
    text = "# 2theta  intensity (cps)\n" + "".join(f"{a:.2f} {b / 7.5:.6f}\n" for a, b in
                                                   zip(X, Y, strict=True))
    with pytest.warns(InputWarning, match="counts per second"):
        p = read_pattern(_write(tmp_path / "cps.xy", text))[0]
    assert p.metadata["intensity_unit"] == "cps" and p.metadata["warnings"]


def test_ras_cps_converted_with_speed_and_step(tmp_path: Path) -> None:
    data = ras_file([(X, Y / 3.0, np.ones_like(Y))]).decode("latin-1")
    data = data.replace('*MEAS_SCAN_UNIT_Y "counts"', '*MEAS_SCAN_UNIT_Y "cps"\r\n'
                        '*MEAS_SCAN_STEP "0.0200"\r\n*MEAS_SCAN_SPEED "0.4000"\r\n'
                        '*MEAS_SCAN_SPEED_UNIT "deg/min"')
    p = read_pattern(_write(tmp_path / "c.ras", data.encode("latin-1")))[0]
    assert p.metadata["count_time_s"] == pytest.approx(3.0)  # 0.02° / (0.4°/min) = 3 s
    np.testing.assert_allclose(p.y, Y, rtol=1e-4)


def test_two_theta_beyond_180_is_refused(tmp_path: Path) -> None:
    text = "".join(f"{a:.2f} {b:.0f}\n" for a, b in zip(X + 160, Y, strict=True))
    refused(read_pattern, _write(tmp_path / "far.xy", text), "outside (0°, 180°)")


# -- several scans ---------------------------------------------------------------------------------
def test_several_scans_are_said_and_chosen(tmp_path: Path) -> None:
    # before: a file with two scans was refined on the first without a word
    path = _write(tmp_path / "two.xrdml", xrdml_file([(X, Y, False), (X + 2, Y[::-1], True)]))
    assert len(read_pattern(path)) == 2
    np.testing.assert_array_equal(read_one(f"{path}#2").y, Y[::-1])
    np.testing.assert_array_equal(read_one(f"{path}#1").y, Y)
    refused(read_one, f"{path}#3", "scan 3 is not in the file", "2 scan(s)")
    # overlapping ranges: no meaningful merge, so a refusal that lists the scans
    msg = refused(read_one, path, "holds 2 scans", "#1 20–23.98°", "two.xrdml#N")
    assert "overlapping" in msg


def test_scans_side_by_side_with_one_counting_time_are_joined(tmp_path: Path) -> None:
    path = _write(tmp_path / "ranges.xrdml",
                  xrdml_file([(X, Y, False), (X + 5, Y[::-1], False), (X + 10, Y, False)]))
    with pytest.warns(InputWarning, match="3 scans merged"):
        p = read_one(path)
    np.testing.assert_allclose(p.x, np.concatenate([X, X + 5, X + 10]))
    np.testing.assert_array_equal(p.y, np.concatenate([Y, Y[::-1], Y]))
    assert p.metadata["merged_scans"] == [1, 2, 3]


def test_repeated_scans_are_summed(tmp_path: Path) -> None:
    path = _write(tmp_path / "rep.xrdml", xrdml_file([(X, Y, False), (X, Y[::-1], False)]))
    with pytest.warns(InputWarning, match="repeats of one 2θ range, summed"):
        p = read_one(path)
    np.testing.assert_array_equal(p.y, Y + Y[::-1])
    assert p.metadata["count_time_s"] == 4.0  # 2 × commonCountingTime 2.0


def test_gsas_banks_without_times_are_not_merged(tmp_path: Path) -> None:
    from test_patterns import E, gsas_file

    second = gsas_file("FXYE", X + 10, Y, E).split("\n", 1)[1].replace("BANK 1", "BANK 2")
    path = _write(tmp_path / "two.gsas", gsas_file("FXYE", X, Y, E) + second)
    refused(read_one, path, "counting time per step not stated")
    assert read_one(f"{path}#2").x[0] == pytest.approx(X[0] + 10)


# -- weights of zero and negative counts (issue 7, item 5) ----------------------------------------
def test_zero_and_negative_counts_get_gsas2_weights() -> None:
    # GSAS-II 5.7.9, imports/G2pwd_xye.py and G2pwd_fxye.py: y <= 0 (or esd <= 0) -> w = 0;
    # else w = 1/y for counts, 1/esd² with esds
    x = np.array([10.0, 10.1, 10.2, 10.3])
    counts = Pattern(x, np.array([0.0, 4.0, 100.0, 1.0]))
    np.testing.assert_array_equal(counts.weights(), [0.0, 0.25, 0.01, 1.0])
    np.testing.assert_array_equal(counts.esd(), [np.inf, 2.0, 10.0, 1.0])
    with_esd = Pattern(x, np.array([-5.0, 4.0, 9.0, 9.0]), sigma=np.array([2.0, 0.5, 0.0, 3.0]))
    np.testing.assert_array_equal(with_esd.weights(), [0.0, 4.0, 0.0, 1 / 9])


def test_neutron_pattern_is_refused(shared: Path) -> None:
    refused(read_pattern, shared / "real" / "pbso4_cpd_xray" / "PBSO4.CWN", "neutron data")


# -- messages --------------------------------------------------------------------------------------
def test_messages_are_one_line_of_at_most_300_characters() -> None:
    err = XtalError("word " * 200 + "\nsecond line", "/some/file.cif")
    text = str(err)
    assert "\n" not in text and len(text) == len("/some/file.cif: ") + 298
    assert text.endswith("...")


def test_phase_site_and_cell_keep_their_own_checks() -> None:
    # the value objects refuse what the readers refuse, whoever builds them
    with pytest.raises(InputError, match="real cell"):
        Cell(5, 5, 5, 60, 60, 120)
    sg = SpaceGroup.from_symbol("P 1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ph = Phase("p", Cell(5, 5, 5), sg, (Site("A", "Na", (0, 0, 0), occupancy=1e-6),))
        assert ph.formula == "Na"


def test_background_points_checked(tmp_path: Path, shared: Path) -> None:
    from xtal.io.background_points import read_background_points

    bgr = shared / "real" / "rbnb2o5f_empyrean" / "RbNb2O5F.BGR"
    pts = read_background_points(bgr)
    first = next(ln for ln in bgr.read_text(encoding="latin-1").splitlines()
                 if ln.strip() and ln.strip()[0] not in "!#").split()
    assert pts.shape == (93, 2) and pts[0].tolist() == [float(first[0]), float(first[1])]
    utf16 = _write(tmp_path / "u.bgr", bgr.read_text(encoding="latin-1").encode("utf-16"))
    np.testing.assert_array_equal(read_background_points(utf16), pts)
    for text, fragment in (("10 1\n200 2\n", "outside (0°, 180°)"), ("10 1\n1e400 2\n", "range"),
                           ("10 1\n1_000 2\n", "line 2")):
        with pytest.raises(InputError, match=re.escape(fragment)):
            read_background_points(_write(tmp_path / "b.bgr", text))


def test_a_large_structure_is_read_without_quadratic_work(tmp_path: Path) -> None:
    # 30 general sites in Fd-3m (192 positions each, IT Vol. A): the positions were told apart
    # by a pairwise loop (292 s for 5664 atoms); a subprocess with a generous limit
    rng = np.random.default_rng(3)
    rows = "".join(f"X{i} O {a:.4f} {b:.4f} {c:.4f} 0.01\n"
                   for i, (a, b, c) in enumerate(rng.random((30, 3)) * 0.12 + 0.01))
    path = cif(tmp_path / "big.cif", "data_x\n" + cell(20, 20, 20)
               + "_symmetry_space_group_name_H-M 'F d -3 m'\n" + SITES + rows)
    code = ("import sys, json\nfrom xtal.io.cif import read_cif\np = read_cif(sys.argv[1])\n"
            "print(json.dumps([len(p.atoms), [s.multiplicity for s in p.sites], "
            "[s.wyckoff for s in p.sites]]))")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    n, mult, letters = json.loads(done.stdout)
    assert n == sum(mult) and set(mult) <= {96, 192}  # 192i general, 96g/h on a mirror
    assert all(letter == "i" for m, letter in zip(mult, letters, strict=True) if m == 192)
