"""Reading measured powder patterns: real files in ../shared/data and files written here.

Files of formats with no real sample available (Bruker RAW v1/v2/v4, BRML, Rigaku
RAS/RASX, GSAS ESD/FXY/FXYE/ALT, multi-scan XRDML) are written by the builders
below from the public format descriptions cited on each builder, then read back.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError
from xtal.io.patterns import FORMATS, guess_format, read_pattern

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PBSO4 = SHARED / "real" / "pbso4_cpd_xray" / "PBSO4.XRA"
NIST = SHARED / "real" / "lab6_nist660" / "NIST660CBI.gsas"
LAB6 = SHARED / "real" / "lab6_nist660" / "LaB6_Jan2018.raw"
XRDML = SHARED / "real" / "rbnb2o5f_empyrean" / "RbNb2O5F.xrdml"
FULLPROF_DAT = SHARED / "real" / "rbnb2o5f_empyrean" / "RbNb2O5F.dat"
SYNTH_XY = SHARED / "synthetic" / "na3bs3_ht200_gsas2" / "pattern.xy"
REAL = [PBSO4, NIST, LAB6, XRDML, FULLPROF_DAT, SYNTH_XY]

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data not present")


def one(path: Path) -> Pattern:
    patterns = read_pattern(path)
    assert len(patterns) == 1
    return patterns[0]


# ----------------------------------------------------------------------------------------------
# Real data
# ----------------------------------------------------------------------------------------------


@needs_shared
def test_pbso4_gsas_std_matches_gsas2():
    p = one(PBSO4)
    assert p.x.size == 6000  # NCHAN 6001, GSAS-II keeps NCHAN-1
    assert p.x[0] == pytest.approx(10.0)
    assert p.step == pytest.approx(0.025)
    assert p.x[-1] == pytest.approx(159.975)
    # independent decoding of the first record: ten 8-character fields, counter (2) + count (6)
    record = PBSO4.read_text().splitlines()[2]
    by_hand = [int(record[8 * i + 2 : 8 * i + 8]) for i in range(10)]
    assert by_hand == [179, 147, 165, 172, 150, 165, 150, 158, 134, 146]
    np.testing.assert_array_equal(p.y[:10], by_hand)
    np.testing.assert_allclose(p.sigma, np.sqrt(p.y))
    assert p.source == str(PBSO4)
    assert p.metadata["nchan"] == 6001


@needs_shared
def test_nist660_gsas_std():
    p = one(NIST)
    assert p.x[0] == pytest.approx(15.0066)
    assert p.step == pytest.approx(0.0131303)
    assert p.x.size == 8377
    assert p.wavelength is None  # the file states none


@needs_shared
def test_rbnb2o5f_xrdml_and_the_authors_fullprof_dat():
    p = one(XRDML)
    assert p.x.size == 8758
    assert p.x[0] == pytest.approx(5.00657, abs=1e-5)
    assert p.x[-1] == pytest.approx(119.98845, abs=1e-5)
    assert p.step == pytest.approx(0.0131303, abs=1e-6)
    assert (p.wavelength, p.wavelength2, p.ratio) == (1.5405980, 1.5444260, 0.5)
    assert p.metadata["count_time_s"] == pytest.approx(598.995)
    assert p.metadata["radius_mm"] == 240.0
    dat = one(FULLPROF_DAT)
    assert dat.x.size == 8757
    # FullProf's .dat is the same scan without its first point, 2θ rounded to 4 decimals
    np.testing.assert_array_equal(dat.y, p.y[1:])
    np.testing.assert_allclose(dat.x, p.x[1:], atol=5.1e-5)


@needs_shared
def test_lab6_bruker_raw():
    p = one(LAB6)
    assert p.x.size == 3040
    assert p.x[0] == pytest.approx(10.000)
    assert p.x[-1] == pytest.approx(70.004, abs=5e-4)
    assert p.step == pytest.approx(0.0197448, abs=1e-7)
    assert p.wavelength == pytest.approx(1.5406)
    assert p.wavelength2 == pytest.approx(1.54439)
    assert p.ratio == pytest.approx(0.5)
    assert p.metadata["radius_mm"] == 250
    assert p.metadata["anode"] == "Cu"
    assert p.metadata["format"] == "Bruker RAW v3"


@needs_shared
def test_synthetic_xy():
    p = one(SYNTH_XY)
    assert p.x.size == 7001
    assert p.sigma is None
    assert (p.x[0], p.x[-1]) == pytest.approx((10.0, 80.0))


@needs_shared
def test_sniffing_reads_a_misnamed_gsas_file(tmp_path):
    copy = tmp_path / "pbso4.dat"
    copy.write_bytes(PBSO4.read_bytes())
    assert guess_format(copy).name == "gsas"
    np.testing.assert_array_equal(one(copy).y, one(PBSO4).y)


@needs_shared
def test_sniffing_reads_misnamed_files(tmp_path):
    for src, name in ((LAB6, "lab6.xy"), (XRDML, "scan.txt"), (PBSO4, "pbso4.raw")):
        copy = tmp_path / name
        copy.write_bytes(src.read_bytes())
        assert one(copy).x.size == one(src).x.size


# ----------------------------------------------------------------------------------------------
# Column text
# ----------------------------------------------------------------------------------------------


def test_xy_with_header_line_and_commas(tmp_path):
    f = tmp_path / "a.xy"
    f.write_text("2theta,intensity\n10.00,100\n10.01,102.5\n10.02,99\n")
    p = one(f)
    np.testing.assert_allclose(p.x, [10.0, 10.01, 10.02])
    np.testing.assert_allclose(p.y, [100, 102.5, 99])
    assert p.sigma is None


@pytest.mark.parametrize(
    "text",
    [
        "# comment\n! another\n; third\n' fourth\n10 1 0.5\n11 2 0.6\n12 3 0.7\n",
        "wavelength = 1.5406\n10\t1\t0.5\n11\t2\t0.6\n12\t3\t0.7\n",
        "x;y;e\n10,0;1,0;0,5\n11,0;2,0;0,6\n12,0;3,0;0,7\n",
        "10.0   1   0.5\r\n\r\n11.0   2   0.6\r\n12.0   3   0.7\r\n",
    ],
)
def test_xye_variants(tmp_path, text):
    f = tmp_path / "a.xye"
    f.write_text(text)
    p = one(f)
    np.testing.assert_allclose(p.x, [10, 11, 12])
    np.testing.assert_allclose(p.y, [1, 2, 3])
    np.testing.assert_allclose(p.sigma, [0.5, 0.6, 0.7])


def test_wavelength_in_text_header(tmp_path):
    f = tmp_path / "a.xy"
    f.write_text("# Wavelength: 1.5406 A\n10 1\n11 2\n")
    assert one(f).wavelength == 1.5406


# ----------------------------------------------------------------------------------------------
# Builders written from the format descriptions (see each docstring)
# ----------------------------------------------------------------------------------------------


def gsas_file(kind: str, x: np.ndarray, y: np.ndarray, e: np.ndarray | None = None) -> str:
    """GSAS powder data file, layout of the GSAS manual (Larson & Von Dreele, LAUR 86-748,
    "Powder data files"): title, ``BANK`` line, fixed-width STD/ESD records or free FXY(E)."""
    n = x.size
    start, step = x[0] * 100, (x[1] - x[0]) * 100
    if kind == "STD":
        fields = [f"{'':2s}{int(v):6d}" for v in y]
        per = 10
    elif kind == "ESD":
        fields = [f"{v:8.1f}{s:8.2f}" for v, s in zip(y, e, strict=True)]
        per = 5
    elif kind == "ALT":
        fields = [
            f"{a * 3200:8.0f}{v * 1000:7.0f}{s * 1000:5.0f}"
            for a, v, s in zip(x, y, e, strict=True)
        ]
        per = 4
    if kind in ("STD", "ESD", "ALT"):
        recs = ["".join(fields[i : i + per]).ljust(80) for i in range(0, n, per)]
    elif kind == "FXYE":
        recs = [f"{a * 100:12.4f} {v:12.3f} {s:10.4f}" for a, v, s in zip(x, y, e, strict=True)]
    else:
        recs = [f"{a * 100:12.4f} {v:12.3f}" for a, v in zip(x, y, strict=True)]
    nrec = len(recs)
    bank = f"BANK 1 {n} {nrec} CONST {start:.2f} {step:.4f} 0 0 {kind}"
    if kind == "ALT":
        bank = f"BANK 1 {n} {nrec} CONST {start:.2f} {step:.4f} 0 0 ALT"
    return "constructed test file\n" + bank.ljust(80) + "\n" + "\n".join(recs) + "\n"


def raw_v1(ranges: list[tuple[float, float, np.ndarray]]) -> bytes:
    """Bruker RAW version 1 ("RAW "): DIFFRAC-AT layout as transcribed in xylib's
    ``bruker_raw.cpp`` (load_version1): per range a 152-byte header, then float32 counts."""
    out = bytearray(b"RAW ")
    for k, (start, step, y) in enumerate(ranges):
        h = bytearray(152)
        struct.pack_into("<IffI", h, 0, y.size, 1.0, step, 0)
        struct.pack_into("<ffff", h, 20, start, start / 2, -1e6, -1e6)
        h[36 : 36 + 6] = b"sample"
        struct.pack_into("<ff", h, 68, 1.5406, 1.54439)
        struct.pack_into("<I", h, 148, 1 if k + 1 < len(ranges) else 0)
        out += h + y.astype("<f4").tobytes()
    return bytes(out)


def raw_v2(ranges: list[tuple[float, float, np.ndarray]]) -> bytes:
    """Bruker RAW version 2 ("RAW2"): xylib ``load_version2`` / GSAS-II ``G2pwd_BrukerRAW``:
    range count u16 @4, wavelengths f32 @190/194/198, ranges from byte 256."""
    head = bytearray(256)
    head[:4] = b"RAW2"
    struct.pack_into("<H", head, 4, len(ranges))
    head[168:176] = b"01/02/03"
    head[188:190] = b"Cu"
    struct.pack_into("<fff", head, 190, 1.5406, 1.54439, 0.5)
    out = bytearray(head)
    for start, step, y in ranges:
        h = bytearray(48)
        struct.pack_into("<HH", h, 0, 48, y.size)
        struct.pack_into("<fff", h, 8, 2.0, step, start)
        out += h + y.astype("<f4").tobytes()
    return bytes(out)


def raw_v3(ranges: list[tuple[float, float, np.ndarray]], supp: int = 40) -> bytes:
    """Bruker RAW version 3 ("RAW1.01"): DIFFRAC-plus XCH v5 manual appendix A as transcribed in
    xylib ``load_version1_01``: 712-byte file header, 304-byte range headers."""
    head = bytearray(712)
    head[:7] = b"RAW1.01"
    struct.pack_into("<II", head, 8, 1, len(ranges))
    head[16:24] = b"01/22/18"
    head[326:332] = b"sample"
    struct.pack_into("<f", head, 564, 217.5)
    head[608:610] = b"Co"
    struct.pack_into("<5d", head, 616, 1.79026, 1.78897, 1.79285, 1.62079, 0.5)
    out = bytearray(head)
    for start, step, y in ranges:
        h = bytearray(304)
        struct.pack_into("<IIdd", h, 0, 304, y.size, start / 2, start)
        struct.pack_into("<d", h, 176, step)
        struct.pack_into("<f", h, 192, 1.0)
        struct.pack_into("<I", h, 256, supp)
        out += h + bytes(supp) + y.astype("<f4").tobytes()
    return bytes(out)


def raw_v4(ranges: list[tuple[str, float, float, np.ndarray]]) -> bytes:
    """Bruker RAW version 4 ("RAW4.00"): layout decoded in xylib ``load_version4`` and GSAS-II
    ``G2pwd_BrukerRAW``: 61-byte header, typed records (30 = wavelengths), ranges of a 160-byte
    header + axis records (type 50) + float32 counts."""
    head = bytearray(61)
    head[:7] = b"RAW4.00"
    head[12:22] = b"2024-01-02"
    var = bytearray(36 + 8)
    struct.pack_into("<II", var, 0, 10, len(var))
    var[12:18] = b"Sample"
    var[36:41] = b"LaB6x"
    hw = bytearray(120)
    struct.pack_into("<II", hw, 0, 30, 120)
    struct.pack_into("<5d", hw, 72, 1.54184, 1.5406, 1.54439, 1.39222, 0.5)
    hw[116:118] = b"Cu"
    out = bytearray(head + var + hw)
    for scan_type, start, step, y in ranges:
        axis = bytearray(64)
        struct.pack_into("<II", axis, 0, 50, 64)
        axis[12:18] = b"2Theta"
        struct.pack_into("<d", axis, 56, start)
        h = bytearray(160)
        struct.pack_into("<II", h, 0, 160, 160)
        h[32 : 32 + len(scan_type)] = scan_type.encode()
        struct.pack_into("<ddIf", h, 72, start - 99.0, step, y.size, 0.5)  # +72: driving axis
        struct.pack_into("<ff", h, 100, 40.0, 40.0)
        struct.pack_into("<d", h, 112, 1.5406)
        struct.pack_into("<II", h, 136, 4, len(axis))
        out += h + axis + y.astype("<f4").tobytes()
    return bytes(out)


def xrdml_file(scans: list[tuple[np.ndarray, np.ndarray, bool]]) -> bytes:
    """PANalytical XRDML 1.x (schema XRDMeasurement.xsd): several scans, start/end or list
    positions, ``counts`` element."""
    body = []
    for x, y, listed in scans:
        pos = (
            f"<listPositions>{' '.join(f'{v:.5f}' for v in x)}</listPositions>"
            if listed
            else f"<startPosition>{x[0]}</startPosition><endPosition>{x[-1]}</endPosition>"
        )
        body.append(
            '<scan appendNumber="0" mode="Pre-set time" scanAxis="Gonio" status="Completed">'
            "<header><startTimeStamp>2020-01-01T00:00:00</startTimeStamp></header><dataPoints>"
            f'<positions axis="2Theta" unit="deg">{pos}</positions>'
            '<positions axis="Omega" unit="deg"><commonPosition>5</commonPosition></positions>'
            "<commonCountingTime>2.0</commonCountingTime>"
            f'<counts unit="counts">{" ".join(str(int(v)) for v in y)}</counts>'
            "</dataPoints></scan>"
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<xrdMeasurements xmlns="http://www.xrdml.com/XRDMeasurement/1.5">'
        "<sample><id>two-scans</id></sample>"
        '<xrdMeasurement measurementType="Scan"><usedWavelength intended="K-Alpha 1">'
        "<kAlpha1>1.78901</kAlpha1><kAlpha2>1.79290</kAlpha2>"
        "<ratioKAlpha2KAlpha1>0.5</ratioKAlpha2KAlpha1></usedWavelength>"
        '<incidentBeamPath><radius unit="mm">320.00</radius></incidentBeamPath>'
        + "".join(body)
        + "</xrdMeasurement></xrdMeasurements>"
    )
    return xml.encode()


def brml_file(x: np.ndarray, y: np.ndarray, member: str = "Experiment0/RawData0.xml") -> bytes:
    """Bruker .brml: zip with ``Experiment0/RawData0.xml`` (layout read by GSAS-II's
    ``G2pwd_BrukerBRML``): ``Datum`` = time, flag, 2θ, θ, counts; ``WaveLengthAlpha1`` etc."""
    datums = "".join(
        f"<Datum>1,1,{a:.4f},{a / 2:.4f},{int(v)}</Datum>" for a, v in zip(x, y, strict=True)
    )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?><RawData>'
        "<TimeStampStarted>2021-05-06T07:08:09</TimeStampStarted>"
        "<DataRoutes><DataRoute><ScanInformation><ScanName>Coupled TwoTheta/Theta</ScanName>"
        f"<MeasurementPoints>{x.size}</MeasurementPoints><TimePerStep>0.5</TimePerStep>"
        '<ScanAxes><ScanAxisInfo AxisId="TwoTheta" AxisName="TwoTheta">'
        f"<Start>{x[0]}</Start><Stop>{x[-1]}</Stop><Increment>{x[1] - x[0]}</Increment>"
        "</ScanAxisInfo></ScanAxes></ScanInformation>"
        f"{datums}</DataRoute></DataRoutes>"
        "<FixedInformation><Instrument><PrimaryTracks><TrackInfoData><MountedOptics><InfoData>"
        '<Tube><WaveLengthAlpha1 Value="1.5406" Unit="Å"/><WaveLengthAlpha2 Value="1.54439"'
        ' Unit="Å"/><WaveLengthRatio Value="0.5"/></Tube>'
        "</InfoData></MountedOptics></TrackInfoData></PrimaryTracks></Instrument>"
        "</FixedInformation></RawData>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(member, xml)
    return buf.getvalue()


def ras_file(scans: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> bytes:
    """Rigaku .ras (layout read by GSAS-II's ``G2pwd_rigaku``): ``*KEY "value"`` header and
    ``2θ intensity attenuator`` lines between ``*RAS_INT_START``/``*RAS_INT_END``; CRLF, Latin-1."""
    out = ["*RAS_DATA_START"]
    for x, y, f in scans:
        out += [
            "*RAS_HEADER_START",
            '*FILE_SAMPLE "quartz µ"',
            '*HW_XG_TARGET_NAME "Cu"',
            '*HW_XG_WAVE_LENGTH_ALPHA1 "1.540593"',
            '*HW_XG_WAVE_LENGTH_ALPHA2 "1.544414"',
            '*MEAS_SCAN_START_TIME "06/11/26 13:59:11"',
            '*MEAS_SCAN_UNIT_Y "counts"',
            "*RAS_HEADER_END",
            "*RAS_INT_START",
        ]
        out += [f"{a:.4f} {v:.4f} {g:.4f}" for a, v, g in zip(x, y, f, strict=True)]
        out += ["*RAS_INT_END"]
    out.append("*RAS_DATA_END")
    return ("\r\n".join(out) + "\r\n").encode("latin-1")


def rasx_file(x: np.ndarray, y: np.ndarray, profile: bool = True) -> bytes:
    """Rigaku .rasx: zip with ``Data0/Profile0.txt`` (BOM, tab-separated 2θ, I, factor) and
    ``Data0/MesurementConditions0.xml`` (Rigaku's spelling), as read by GSAS-II."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        if profile:
            rows = "".join(f"{a:.4f}\t{v:.1f}\t1\r\n" for a, v in zip(x, y, strict=True))
            z.writestr("Data0/Profile0.txt", "\ufeff" + rows)
        z.writestr(
            "Data0/MesurementConditions0.xml",
            "<MeasurementConditions><GeneralInformation><SampleName>Si</SampleName>"
            "<SystemName>SmartLab</SystemName></GeneralInformation><HWConfigurations>"
            "<XrayGenerator><TargetName>Cu</TargetName>"
            "<WavelengthKalpha1>1.540593</WavelengthKalpha1>"
            "<WavelengthKalpha2>1.544414</WavelengthKalpha2></XrayGenerator>"
            "</HWConfigurations></MeasurementConditions>",
        )
    return buf.getvalue()


RNG = np.random.default_rng(7)
X = np.round(np.arange(200) * 0.02 + 20.0, 4)
Y = RNG.poisson(500, X.size).astype(float)
E = np.round(np.sqrt(Y), 2)


# ----------------------------------------------------------------------------------------------
# Round trips of constructed files
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["STD", "ESD", "FXYE", "FXY", "ALT"])
def test_gsas_kinds_round_trip(tmp_path, kind):
    f = tmp_path / f"c.{'fxye' if kind.startswith('FXY') else 'gsa'}"
    f.write_text(gsas_file(kind, X, Y, E))
    p = one(f)
    n = X.size - 1 if kind == "STD" else X.size
    np.testing.assert_allclose(p.x, X[:n], atol=1e-4)
    np.testing.assert_allclose(p.y, Y[:n], atol=1e-3)
    if kind in ("ESD", "FXYE", "ALT"):
        np.testing.assert_allclose(p.sigma, E[:n], atol=1e-3)


def test_gsas_several_banks_and_negative_esd_data(tmp_path):
    y = Y - 520.0  # background-subtracted: negative values allowed with esds
    second = gsas_file("FXYE", X + 10, Y, E).split("\n", 1)[1].replace("BANK 1", "BANK 2")
    f = tmp_path / "two.gsas"
    f.write_text(gsas_file("ESD", X, y, E) + second)
    a, b = read_pattern(f)
    np.testing.assert_allclose(a.y, y)
    np.testing.assert_allclose(b.x, X + 10)
    assert a.metadata["bank"] == "1"


def test_gsas_std_negative_counts_is_an_error(tmp_path):
    f = tmp_path / "neg.gsa"
    f.write_text(gsas_file("STD", X, Y - 600, None))
    with pytest.raises(InputError, match=r"neg\.gsa: GSAS powder data STD: .*negative counts"):
        read_pattern(f)


@pytest.mark.parametrize("version,builder", [(1, raw_v1), (2, raw_v2), (3, raw_v3)])
def test_bruker_raw_v1_v2_v3_two_ranges(tmp_path, version, builder):
    f = tmp_path / "c.raw"
    f.write_bytes(builder([(20.0, 0.02, Y), (60.0, 0.05, Y[:50])]))
    a, b = read_pattern(f)
    np.testing.assert_allclose(a.x, X, atol=1e-4)
    np.testing.assert_array_equal(a.y, Y)
    np.testing.assert_allclose(b.x, 60 + 0.05 * np.arange(50), atol=1e-4)
    assert a.metadata["format"] == f"Bruker RAW v{version}"
    if version == 3:
        assert (a.wavelength, a.wavelength2, a.ratio) == (1.78897, 1.79285, 0.5)
        assert a.metadata["radius_mm"] == 217.5
        assert a.metadata["anode"] == "Co"
    else:
        assert a.wavelength == pytest.approx(1.5406)


def test_bruker_raw_v4_uses_2theta_axis_and_skips_other_scans(tmp_path):
    f = tmp_path / "c.raw"
    f.write_bytes(
        raw_v4(
            [
                ("Locked Coupled", 20.0, 0.02, Y),
                ("Chi Scan", 0.0, 1.0, Y[:9]),
                ("Detector Scan", 40.0, 0.1, Y[:20]),
            ]
        )
    )
    a, b = read_pattern(f)
    np.testing.assert_allclose(a.x, X, atol=1e-9)
    np.testing.assert_allclose(b.x, 40 + 0.1 * np.arange(20))
    assert (a.wavelength, a.wavelength2, a.ratio) == (1.5406, 1.54439, 0.5)
    assert a.metadata["Sample"] == "LaB6x"
    assert a.metadata["skipped_ranges"] == ["range 2 (Chi Scan)"]


def test_bruker_raw_v4_truncated_header_message(tmp_path):
    data = raw_v4([("Locked Coupled", 20.0, 0.02, Y)])
    f = tmp_path / "x.raw"
    f.write_bytes(data[: 61 + 44 + 120 + 100])
    with pytest.raises(InputError) as err:
        read_pattern(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}: Bruker RAW v4: file ends inside range 1 header (byte ")
    assert "\n" not in msg


def test_xrdml_two_scans_listed_positions(tmp_path):
    f = tmp_path / "c.xrdml"
    f.write_bytes(xrdml_file([(X, Y, False), (X + 50, Y[::-1], True)]))
    a, b = read_pattern(f)
    np.testing.assert_allclose(a.x, X)
    np.testing.assert_allclose(b.x, X + 50)
    np.testing.assert_array_equal(b.y, Y[::-1])
    assert (b.wavelength, b.wavelength2, b.ratio) == (1.78901, 1.79290, 0.5)
    assert a.metadata["count_time_s"] == 2.0 and a.name == "two-scans scan 1"


def test_brml_round_trip(tmp_path):
    f = tmp_path / "c.brml"
    f.write_bytes(brml_file(X, Y))
    p = one(f)
    np.testing.assert_allclose(p.x, X)
    np.testing.assert_array_equal(p.y, Y)
    assert (p.wavelength, p.wavelength2, p.ratio) == (1.5406, 1.54439, 0.5)
    assert p.metadata["date"] == "2021-05-06T07:08:09"


def test_ras_two_scans_with_attenuator(tmp_path):
    f = tmp_path / "c.ras"
    factors = np.where(Y > 520, 10.0, 1.0)
    f.write_bytes(ras_file([(X, Y, np.ones_like(Y)), (X, Y, factors)]))
    a, b = read_pattern(f)
    np.testing.assert_allclose(a.y, Y)
    assert a.sigma is None
    np.testing.assert_allclose(b.y, Y * factors)
    np.testing.assert_allclose(b.sigma, np.sqrt(Y) * factors)
    assert (a.wavelength, a.wavelength2) == (1.540593, 1.544414)
    assert a.name == "quartz µ" and a.metadata["anode"] == "Cu"


def test_rasx_round_trip(tmp_path):
    f = tmp_path / "c.rasx"
    f.write_bytes(rasx_file(X, Y))
    p = one(f)
    np.testing.assert_allclose(p.x, X)
    np.testing.assert_allclose(p.y, Y)
    assert p.wavelength == 1.540593 and p.name == "Si"


# ----------------------------------------------------------------------------------------------
# Errors: one line, the file, the format, what is wrong
# ----------------------------------------------------------------------------------------------


def expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(InputError) as err:
        read_pattern(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg, msg
    for frag in fragments:
        assert frag in msg, msg
    return msg


@pytest.mark.parametrize(
    "suffix,title",
    [
        (".xy", "column text"),
        (".raw", "Bruker RAW"),
        (".xrdml", "XRDML"),
        (".gsas", "GSAS"),
        (".brml", "BRML"),
        (".ras", "RAS"),
        (".rasx", "RASX"),
    ],
)
def test_empty_file(tmp_path, suffix, title):
    f = tmp_path / f"empty{suffix}"
    f.write_bytes(b"")
    expect_error(f, title, "file is empty")


def test_unknown_format_lists_formats_tried(tmp_path):
    f = tmp_path / "thing.bin"
    f.write_bytes(bytes(range(256)) * 4)
    msg = expect_error(f, "matches no pattern format", "'.bin'")
    for fmt in FORMATS.values():
        assert fmt.title in msg


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope.xy", "file not found")


@pytest.mark.parametrize(
    "text,fragments",
    [
        ("10 1\n11 2\n12 abc\n", ("column text", "line 3 is not numeric")),
        ("10 1\n11 nan\n12 3\n", ("NaN or infinite count at point 2",)),
        ("10 1\n11 -2\n12 3\n", ("negative counts",)),
        ("10 1\n12 2\n11 3\n", ("not strictly increasing",)),
        ("10 1\n11 2 3\n", ("line 2 has 3 value(s), 2 expected",)),
        ("only a header\n", ("no numeric data lines",)),
    ],
)
def test_bad_text(tmp_path, text, fragments):
    f = tmp_path / "bad.xy"
    f.write_text(text)
    expect_error(f, *fragments)


def test_negative_counts_allowed_with_esd_column(tmp_path):
    f = tmp_path / "diff.xye"
    f.write_text("10 -1 1\n11 2 1\n")
    assert one(f).y[0] == -1


def test_non_monotonic_binary_names_file_and_format(tmp_path):
    f = tmp_path / "down.raw"
    f.write_bytes(raw_v3([(20.0, -0.02, Y)]))
    expect_error(f, "Bruker RAW v3", "range 1")


def test_corrupt_xml(tmp_path):
    f = tmp_path / "c.xrdml"
    f.write_bytes(xrdml_file([(X, Y, False)]).replace(b"</counts>", b"</cnts>"))
    expect_error(f, "PANalytical XRDML: corrupt XML")


def test_zip_without_expected_member(tmp_path):
    f = tmp_path / "c.rasx"
    f.write_bytes(rasx_file(X, Y, profile=False))
    expect_error(f, "Rigaku RASX", "no Data0/Profile0.txt")
    g = tmp_path / "c.brml"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Experiment0/Other.xml", "<a/>")
    g.write_bytes(buf.getvalue())
    expect_error(g, "Bruker BRML", "no RawData*.xml member")


def test_xrdml_count_mismatch_and_nan(tmp_path):
    f = tmp_path / "c.xrdml"
    f.write_bytes(
        xrdml_file([(X, Y, True)]).replace(b"<listPositions>20.00000 ", b"<listPositions>")
    )
    expect_error(f, "199 2θ positions but 200 counts")
    g = tmp_path / "n.xrdml"
    g.write_bytes(xrdml_file([(X, Y, False)]).replace(b'"counts">', b'"counts">NaN ', 1))
    expect_error(g, "scan 1: NaN or infinite count")


def test_ras_truncated_inside_data(tmp_path):
    data = ras_file([(X, Y, np.ones_like(Y))])
    f = tmp_path / "t.ras"
    f.write_bytes(data[: len(data) // 2])
    expect_error(f, "Rigaku RAS", "no *RAS_INT_END")


def test_gsas_tof_bank_is_refused(tmp_path):
    f = tmp_path / "tof.gsa"
    f.write_text("title\nBANK 1 3 1 RALF 1000 10 1000 0.0001 ALT\n" + " " * 80 + "\n")
    expect_error(f, "binning type RALF", "only CONST")


def test_truncated_gsas_std(tmp_path):
    text = gsas_file("STD", X, Y)
    f = tmp_path / "t.gsa"
    f.write_text(text[: len(text) // 3])
    expect_error(f, "GSAS powder data STD", "NCHAN is 200")


# ----------------------------------------------------------------------------------------------
# Fuzz: every format, cut and corrupted: InputError or a valid pattern, never anything else
# ----------------------------------------------------------------------------------------------

SAMPLES: dict[str, Callable[[], tuple[str, bytes]]] = {
    "gsas_std": lambda: ("s.gsa", gsas_file("STD", X, Y).encode()),
    "gsas_esd": lambda: ("s.gsa", gsas_file("ESD", X, Y, E).encode()),
    "gsas_fxye": lambda: ("s.fxye", gsas_file("FXYE", X, Y, E).encode()),
    "gsas_alt": lambda: ("s.gsa", gsas_file("ALT", X, Y, E).encode()),
    "raw_v1": lambda: ("s.raw", raw_v1([(20.0, 0.02, Y), (60.0, 0.05, Y[:50])])),
    "raw_v2": lambda: ("s.raw", raw_v2([(20.0, 0.02, Y), (60.0, 0.05, Y[:50])])),
    "raw_v3": lambda: ("s.raw", raw_v3([(20.0, 0.02, Y), (60.0, 0.05, Y[:50])])),
    "raw_v4": lambda: (
        "s.raw",
        raw_v4([("Locked Coupled", 20.0, 0.02, Y), ("Chi Scan", 0.0, 1.0, Y[:9])]),
    ),
    "xrdml": lambda: ("s.xrdml", xrdml_file([(X, Y, False), (X, Y, True)])),
    "brml": lambda: ("s.brml", brml_file(X, Y)),
    "ras": lambda: ("s.ras", ras_file([(X, Y, np.ones_like(Y))] * 2)),
    "rasx": lambda: ("s.rasx", rasx_file(X, Y)),
    "xye": lambda: (
        "s.xye",
        "".join(f"{a} {b} {c}\n" for a, b, c in zip(X, Y, E, strict=True)).encode(),
    ),
}
for _p in REAL:
    SAMPLES[_p.name] = lambda p=_p: (p.name, p.read_bytes())


def check_damaged(path: Path) -> None:
    try:
        patterns = read_pattern(path)
    except InputError as err:
        assert str(err).startswith(f"{path}: ") and "\n" not in str(err)
        return
    assert patterns and all(isinstance(p, Pattern) and p.x.size >= 2 for p in patterns)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_cut_and_corrupted_files(tmp_path, name):
    if name in {p.name for p in REAL} and not SHARED.is_dir():
        pytest.skip("../shared/data not present")
    fname, data = SAMPLES[name]()
    assert read_pattern(_write(tmp_path / f"ok_{fname}", data))  # the intact file reads
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    for frac in (0.0005, 0.05, 0.3, 0.5, 0.9, 0.999):
        check_damaged(_write(tmp_path / f"cut_{fname}", data[: int(len(data) * frac)]))
    for trial in range(12):
        buf = bytearray(data)
        where = rng.integers(0, len(buf), size=1 + trial % 4)
        if trial % 3 == 0:  # aim at the header, where the structure lives
            where = rng.integers(0, min(len(buf), 1024), size=2)
        for i in where:
            buf[i] ^= int(rng.integers(1, 256))
        check_damaged(_write(tmp_path / f"flip_{fname}", bytes(buf)))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@needs_shared
def test_forced_format_and_unknown_format_name(tmp_path):
    assert read_pattern(PBSO4, format="gsas")[0].x.size == 6000
    with pytest.raises(InputError, match="unknown pattern format 'nope'"):
        read_pattern(PBSO4, format="nope")
    with pytest.raises(InputError, match="Bruker RAW: magic bytes"):
        read_pattern(PBSO4, format="bruker_raw")


def test_registry_is_declarative_and_lazy():
    for fmt in FORMATS.values():
        assert fmt.name and fmt.title and fmt.extensions and callable(fmt.sniff)
        assert all(e.startswith(".") and e == e.lower() for e in fmt.extensions)
        assert callable(fmt.load())
    code = (
        "import sys, xtal.io.patterns as m; "
        "print(any(k.startswith('xtal.io.formats.') for k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------------------------
# Metadata: temperature and time (issue 9, item 2)
# ----------------------------------------------------------------------------------------------

SEQ = SHARED / "real" / "cucr2o4_cuo_seq_11bm"


@needs_shared
def test_fxye_series_temperatures_and_times():
    files = sorted(SEQ.glob("OH_*.fxye"))
    assert len(files) == 17
    temps, setpoints, times = [], [], []
    for f in files:
        p = one(f)
        header = f.read_text().splitlines()[:15]
        by_hand = {ln[1:].split("=")[0].strip(): ln.split("=", 1)[1].strip()
                   for ln in header if ln.startswith("#") and "=" in ln}
        assert p.metadata["temperature_K"] == float(by_hand["Temp (K)"])
        assert p.metadata["temperature_setpoint_K"] == float(by_hand["Scan Comment"])
        temps.append(p.metadata["temperature_K"])
        setpoints.append(p.metadata["temperature_setpoint_K"])
        times.append(p.metadata["time"])
    # ../shared/data/README.md: name order = temperature order, 7-290 K, set-point above the
    # sample temperature (by 1.5-10.3 K in these headers)
    assert temps == sorted(temps) and 6 < temps[0] < 8 and 285 < temps[-1] < 291
    diff = np.subtract(setpoints, temps)
    assert np.all((diff > 1.5) & (diff < 10.5))
    assert times == sorted(times) and times[0] == "2011-04-25T12:35:45.325926"


@needs_shared
def test_times_of_the_real_lab_files():
    assert one(XRDML).metadata["time"] == "2022-03-04T" + one(XRDML).metadata["date"][11:]
    raw = one(LAB6)
    assert raw.metadata["time"].startswith("20") and "T" in raw.metadata["time"]
    assert "temperature_K" not in raw.metadata  # a RAW v3 header carries none


def test_xrdml_non_ambient_temperature(tmp_path):
    data = xrdml_file([(X, Y, False)]).replace(
        b"<dataPoints>",
        b'<nonAmbientPoints type="Temperature"><nonAmbientValues unit="K">473.0 474.0 475.0'
        b"</nonAmbientValues></nonAmbientPoints><dataPoints>")
    p = one(_write(tmp_path / "hot.xrdml", data))
    assert p.metadata["temperature_K"] == pytest.approx(474.0)
    celsius = data.replace(b'unit="K">473.0 474.0 475.0', b'unit="Celsius">200.0')
    assert one(_write(tmp_path / "c.xrdml", celsius)).metadata["temperature_K"] == pytest.approx(
        473.15)
