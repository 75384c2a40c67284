"""Instrument files: GSAS-II .instprm and GSAS .prm reading, .instprm writing."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from xtal.diffraction.instrument import Instrument
from xtal.errors import InputError
from xtal.io.instprm import format_instprm, read_instrument, write_instprm

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PBSO4 = DATA / "real" / "pbso4_cpd_xray"
SYNTH = DATA / "synthetic" / "na3bs3_ht200_gsas2"

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared data not available")


def _values(ins: Instrument) -> dict[str, object]:
    """All fields but ``source`` (provenance: the file read, not a value)."""
    d = ins.as_dict()
    d.pop("source")
    return d


def _random_instrument(rng: np.random.Generator, single: bool) -> Instrument:
    lam1 = float(rng.uniform(0.3, 2.5))
    return Instrument(
        lam1=lam1,
        lam2=None if single else lam1 * float(1 + rng.uniform(1e-4, 5e-3)),
        ratio=float(rng.uniform(0, 1)),
        polarization=float(rng.uniform(0, 1)),
        azimuth=float(rng.uniform(-90, 90)),
        zero=float(rng.normal(0, 0.05)),
        displacement=float(rng.normal(0, 100)),
        radius=float(rng.uniform(100, 400)),
        U=float(rng.normal(0, 10)),
        V=float(rng.normal(0, 10)),
        W=float(rng.uniform(0, 10)),
        X=float(rng.normal(0, 3)),
        Y=float(rng.normal(0, 3)),
        Z=float(rng.normal(0, 1)),
        sh_l=float(rng.uniform(0, 0.05)),
    )


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _assert_one_line_naming(err: pytest.ExceptionInfo[InputError], path: Path) -> str:
    msg = str(err.value)
    assert path.name in msg
    assert "\n" not in msg
    return msg


GOOD = """#GSAS-II instrument parameter file; do not add/delete items!
Type:PXC
Bank:1.0
Lam1:1.540593
Lam2:1.544414
I(L2)/I(L1):0.5
Zero:0.0
Polariz.:0.5
Azimuth:0.0
U:2.0
V:-2.0
W:5.0
X:1.5
Y:3.0
Z:0.0
SH/L:0.02
"""


# ----------------------------------------------------------------- round trip


@pytest.mark.parametrize("single", [False, True])
def test_round_trip_is_lossless(tmp_path: Path, single: bool) -> None:
    rng = np.random.default_rng(20240611 + single)
    for k in range(25):
        ins = _random_instrument(rng, single)
        path = write_instprm(ins, tmp_path / f"r{k}.instprm")
        back = read_instrument(path)
        assert _values(back) == _values(ins)  # exact float equality
        assert back.source == str(path)


def test_format_layout_is_gsas2s() -> None:
    text = format_instprm(Instrument(lam1=1.540593, lam2=1.544414, U=2.5, radius=240.0))
    lines = text.splitlines()
    assert lines[0] == "#GSAS-II instrument parameter file; do not add/delete items!"
    keys = [line.split(":", 1)[0] for line in lines[1:-1]]
    assert keys == [
        "Type",
        "Bank",
        "Lam1",
        "Lam2",
        "I(L2)/I(L1)",
        "Zero",
        "Polariz.",
        "Azimuth",
        "U",
        "V",
        "W",
        "X",
        "Y",
        "Z",
        "SH/L",
    ]
    assert lines[1] == "Type:PXC" and lines[2] == "Bank:1.0" and "U:2.5" in lines
    # the xtal extras are the LAST line, a comment: GSAS-II's reader stops there
    assert lines[-1].startswith("#xtal:") and "radius=240.0" in lines[-1]
    single = format_instprm(Instrument(lam1=0.7, lam2=None)).splitlines()
    assert "Lam:0.7" in single
    assert not any(s.startswith(("Lam1", "Lam2", "I(L2)")) for s in single)


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "inst.instprm"
    write_instprm(Instrument(), path)
    before = path.read_text()
    with pytest.raises(InputError) as err:
        write_instprm(Instrument(U=9.0), path)
    _assert_one_line_naming(err, path)
    assert path.read_text() == before
    write_instprm(Instrument(U=9.0), path, force=True)
    assert read_instrument(path).U == 9.0
    assert [p.name for p in tmp_path.iterdir()] == ["inst.instprm"]  # no temporary left


def test_write_refuses_non_finite(tmp_path: Path) -> None:
    path = tmp_path / "nan.instprm"
    with pytest.raises(InputError) as err:
        write_instprm(Instrument(U=float("nan")), path)
    _assert_one_line_naming(err, path)
    assert not path.exists()


# ------------------------------------------------------------- reference files


@needs_data
def test_gsas_prm_pbso4_xray() -> None:
    ins = read_instrument(PBSO4 / "INST_XRY.PRM")
    assert ins.radiation == "xray"
    assert ins.lam1 == pytest.approx(1.5405)
    assert ins.lam2 == pytest.approx(1.5443)
    assert ins.ratio == pytest.approx(0.5)
    assert ins.polarization == pytest.approx(0.7)
    assert ins.zero == 0.0
    assert (ins.U, ins.V, ins.W) == pytest.approx((2.0, -2.0, 5.0))
    assert (ins.X, ins.Y, ins.Z) == (0.0, 0.0, 0.0)
    # profile type 3: S/L = H/L = 0.015 -> SH/L = S/L + H/L (GSAS-II's import, "S+H/L")
    assert ins.sh_l == pytest.approx(0.030)
    assert ins.displacement == 0.0


@needs_data
def test_neutron_instruments_are_refused_until_neutron_scattering_exists(tmp_path: Path) -> None:
    # issue 7, item 5: X-ray form factors and polarisation must never be applied to neutrons
    with pytest.raises(InputError) as err:
        read_instrument(PBSO4 / "inst_d1a.prm")  # HTYPE PNCR (D1A, 1.909 Å)
    msg = _assert_one_line_naming(err, PBSO4 / "inst_d1a.prm")
    assert "'PNCR' is a neutron instrument" in msg and "cannot be used yet" in msg
    for kind in ("PNC", "PNT"):
        path = _write(tmp_path, f"{kind}.instprm", GOOD.replace("Type:PXC", f"Type:{kind}"))
        with pytest.raises(InputError, match=f"Type '{kind}' is a neutron instrument"):
            read_instrument(path)
    written = write_instprm(Instrument(lam1=1.909, lam2=None, radiation="neutron"),
                            tmp_path / "n.instprm")
    with pytest.raises(InputError, match="neutron"):
        read_instrument(written)


@needs_data
def test_gsas2_instprm_matches_truth() -> None:
    ins = read_instrument(SYNTH / "instrument.instprm")
    truth = json.loads((SYNTH / "truth.json").read_text())["instrument"]
    assert ins.lam1 == truth["lambda1"]
    assert ins.lam2 == truth["lambda2"]
    assert ins.ratio == truth["I2_over_I1"]
    assert ins.polarization == truth["polarization"]
    for key in ("U", "V", "W", "X", "Y"):
        assert getattr(ins, key) == truth[key], key
    assert ins.sh_l == truth["SH/L"]
    assert ins.zero == 0.0 != truth["zero_deg"]  # the file leaves the zero at 0


@needs_data
def test_format_is_sniffed_not_named(tmp_path: Path) -> None:
    prm = (PBSO4 / "INST_XRY.PRM").read_bytes()
    renamed = tmp_path / "inst.instprm"
    renamed.write_bytes(prm)
    assert _values(read_instrument(renamed)) == _values(read_instrument(PBSO4 / "INST_XRY.PRM"))
    gsas2 = tmp_path / "calibration.ins"
    gsas2.write_text(GOOD)
    assert read_instrument(gsas2).X == 1.5


# ----------------------------------------------------------- format variants


def test_semicolon_lines_and_no_header(tmp_path: Path) -> None:
    text = (
        "Type:PXC;Bank:1\n"
        "Lam1:1.5405;Lam2:1.5443;Zero:0.0;Polariz.:0.7;Azimuth:0.0;I(L2)/I(L1):0.5\n"
        "U:2.0;V:-2.0;W:5.0;X:0.0;Y:0.0;SH/L:0.002\n"
    )  # GSAS-II defaultIparms style, no Z
    ins = read_instrument(_write(tmp_path, "a.instprm", text))
    assert (ins.lam1, ins.lam2, ins.polarization, ins.Z) == (1.5405, 1.5443, 0.7, 0.0)


def test_gonio_radius_item_and_crlf(tmp_path: Path) -> None:
    text = GOOD.replace("SH/L:0.02\n", "SH/L:0.02\nGonio. radius:217.5\nDiff-type:Bragg-Brentano\n")
    path = tmp_path / "b.instprm"
    path.write_bytes(text.replace("\n", "\r\n").encode())
    ins = read_instrument(path)
    assert ins.radius == 217.5 and ins.sh_l == 0.02


def test_multibank_instprm(tmp_path: Path) -> None:
    body = GOOD.split("\n", 1)[1]
    bank2 = body.replace("Bank:1.0", "Bank:2.0").replace("U:2.0", "U:7.0")
    text = (
        "#Bank 1: GSAS-II instrument parameter file; do not add/delete items!\n"
        + "".join("  " + s + "\n" for s in body.splitlines())
        + "#Bank 2: GSAS-II instrument parameter file; do not add/delete items!\n"
        + "".join("  " + s + "\n" for s in bank2.splitlines())
    )
    path = _write(tmp_path, "multi.instprm", text)
    assert read_instrument(path).U == 2.0
    assert read_instrument(path, bank=2).U == 7.0
    with pytest.raises(InputError) as err:
        read_instrument(path, bank=3)
    assert "bank 3" in _assert_one_line_naming(err, path)


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("name", "text", "expect"),
    [
        (
            "nolam.instprm",
            GOOD.replace("Lam1:1.540593\n", "").replace("Lam2:1.544414\n", ""),
            "Lam",
        ),
        ("garbage.instprm", "Hello, this is not\nan instrument file at all\n", "not an instrument"),
        ("neg.instprm", GOOD.replace("Lam1:1.540593", "Lam1:-1.540593"), "Lam1 = -1.540593"),
        ("zero.instprm", GOOD.replace("Lam2:1.544414", "Lam2:0"), "Lam2 = 0.0"),
        ("tof.instprm", GOOD.replace("Type:PXC", "Type:PNT"), "PNT"),
        ("pink.instprm", GOOD.replace("Type:PXC", "Type:PXB"), "PXC"),
        ("notype.instprm", GOOD.replace("Type:PXC\n", ""), "Type"),
        ("text.instprm", GOOD.replace("U:2.0", "U:two"), "'two'"),
        ("nan.instprm", GOOD.replace("W:5.0", "W:nan"), "finite"),
        ("nou.instprm", GOOD.replace("U:2.0\n", ""), "missing U"),
        ("nopol.instprm", GOOD.replace("Polariz.:0.5\n", ""), "Polariz."),
        ("nocolon.instprm", GOOD.replace("U:2.0", "U 2.0"), "'U 2.0' is not a key:value"),
        ("empty.instprm", "", "empty"),
        ("ratio.instprm", GOOD.replace("I(L2)/I(L1):0.5", "I(L2)/I(L1):-3"), "ratio"),
    ],
)
def test_bad_instprm_is_one_line_error(tmp_path: Path, name: str, text: str, expect: str) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(InputError) as err:
        read_instrument(path)
    msg = _assert_one_line_naming(err, path)
    assert expect in msg


@needs_data
@pytest.mark.parametrize(
    ("name", "edit", "expect"),
    [
        (
            "neg.prm",
            lambda s: s.replace("  1.540500  1.544300", " -1.540500  1.544300"),
            "lambda1 (ICONS) = -1.5405",
        ),
        ("tof.prm", lambda s: s.replace("HTYPE   PXCR", "HTYPE   PNTR"), "PNTR"),
        ("nowave.prm", lambda s: s.replace("  1.540500  1.544300", " " * 20), "wavelength"),
        ("text.prm", lambda s: s.replace("-2.000000E+00", "   -2.0000abc"), "not a number"),
        ("noprof.prm", lambda s: "\n".join(x for x in s.splitlines() if "PRCF" not in x), "PRCF"),
        (
            "short.prm",
            lambda s: "\n".join(x for x in s.splitlines() if "PRCF12" not in x),
            "S/L H/L",
        ),
    ],
)
def test_bad_prm_is_one_line_error(
    tmp_path: Path, name: str, edit: Callable[[str], str], expect: str
) -> None:
    text = (PBSO4 / "INST_XRY.PRM").read_text()
    path = _write(tmp_path, name, edit(text))
    with pytest.raises(InputError) as err:
        read_instrument(path)
    assert expect in _assert_one_line_naming(err, path)


def test_unreadable_and_binary(tmp_path: Path) -> None:
    missing = tmp_path / "missing.instprm"
    with pytest.raises(InputError) as err:
        read_instrument(missing)
    _assert_one_line_naming(err, missing)
    binary = tmp_path / "scan.raw"
    binary.write_bytes(b"RAW1.01\x00\x00\x01\x02")
    with pytest.raises(InputError) as err:
        read_instrument(binary)
    assert "binary" in _assert_one_line_naming(err, binary)


def test_instrument_radiation_field_is_checked() -> None:
    with pytest.raises(InputError):
        replace(Instrument(), radiation="electron")
