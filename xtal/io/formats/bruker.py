"""Bruker / Siemens DIFFRAC RAW files, versions 1 to 4 (.raw, binary, little-endian).

Format followed: Bruker's "DIFFRAC^plus XCH V.5.0 USER'S MANUAL, Appendix A"
(file structure of RAW versions 1–3) as transcribed in xylib's
``bruker_raw.cpp`` (wojdyr/xylib), and the version-4 layout as decoded there
and in GSAS-II's ``G2pwd_BrukerRAW.py`` (AdvancedPhotonSource/GSAS-II).
The magic string gives the version:

=========  =======  ==========================================================
magic      version  layout
=========  =======  ==========================================================
``RAW ``   1        ranges of a 152-byte header (steps u32 @+0, step f32 @+8,
                    start 2θ f32 @+20, Kα1/Kα2 f32 @+68/+72, "another range
                    follows" u32 @+148) then float32 counts
``RAW2``   2        ranges count u16 @4; date @168, anode @188, Kα1/Kα2/ratio
                    f32 @190/194/198; ranges from byte 256: header length u16,
                    steps u16, step f32 @+12, start f32 @+16, then counts
``RAW1.01`` 3       712-byte file header (ranges u32 @12, date @16, time @26,
                    sample @326, radius f32 @564, anode @608, Kα average/Kα1/
                    Kα2/Kβ/ratio f64 @616–648); each range a header (length
                    u32 @+0 = 304, steps u32 @+4, start θ f64 @+8, start 2θ
                    f64 @+16, step f64 @+176, time per step f32 @+192,
                    supplementary header size u32 @+256), supplementary
                    headers, then float32 counts
``RAW4.00`` 4       61-byte file header (date @12, time @24), then records
                    (type u32, length u32): type 30 holds the wavelengths
                    (f64 Kα average/Kα1/Kα2/Kβ/ratio @+72…+104, anode @+116);
                    a range starts with type 0 or 160: scan type @+32, start
                    f64 @+72, step f64 @+80, steps u32 @+88, time per step f32
                    @+92, datum size u32 @+136, supplementary size u32 @+140,
                    160 bytes in all; supplementary records of type 50 name an
                    axis (@+12) and its start (f64 @+56); then the counts
=========  =======  ==========================================================

In version 4 the 2θ start is taken from the ``2Theta`` axis record when there
is one.  Ranges that are not 2θ scans (version 4 scan types other than
coupled/detector scans) are skipped and listed in the metadata.

Checks: a stated wavelength outside 0.05–5 Å or a ratio outside 0–1 is refused (a
zero wavelength field means "not stated", as unused header fields are zero); the
goniometer radius (v3) goes to ``metadata['radius_mm']`` only when it lies in
10–2000 mm; the time per step goes to ``count_time_s`` and the header date and time
(v3: ``mm/dd/yy``) to ``time`` (ISO 8601).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.io.formats._common import Binary, FormatError, iso_time, make_pattern, radiation

MAGICS = (b"RAW1.01", b"RAW4.00", b"RAW ", b"RAW2")
V4_SCANS = ("Locked Coupled", "Unlocked Coupled", "Detector Scan", "Coupled TwoTheta/Theta",
            "TwoTheta")


def version(data: bytes) -> int | None:
    """RAW version from the magic bytes, or None."""
    if data.startswith(b"RAW1.01"):
        return 3
    if data.startswith(b"RAW4.00"):
        return 4
    if data.startswith(b"RAW2"):
        return 2
    if data.startswith(b"RAW "):
        return 1
    return None


def _wave(a1: float, a2: float, ratio: float | None) -> dict[str, float | None]:
    """Checked wavelengths of a header (zero fields are unset)."""
    return radiation(a1, a2, ratio, zero_is_unset=True)


def _range(b: Binary, offset: int, steps: int, start: float, step: float, k: int) -> tuple:
    if steps < 2:
        raise FormatError(f"range {k} has {steps} step(s)")
    if not (np.isfinite(start) and np.isfinite(step)) or step <= 0:
        raise FormatError(f"range {k}: start {start:g} / step {step:g} are not a valid 2θ scan")
    y = b.float32s(offset, steps, f"range {k} data")
    return start + step * np.arange(steps), y


def read(data: bytes, path: Path) -> list[Pattern]:
    """Read every 2θ range of a Bruker RAW file."""
    v = version(data)
    if v is None:
        raise FormatError(f"magic bytes {data[:7]!r} are not RAW , RAW2, RAW1.01 or RAW4.00")
    b = Binary(data)
    reader = {1: _v1, 2: _v2, 3: _v3, 4: _v4}[v]
    try:
        ranges, common = reader(b)
        return _patterns(ranges, common, v, path)
    except FormatError as err:
        raise FormatError(str(err), variant=f"v{v}") from None


def _patterns(ranges: list, common: dict[str, Any], v: int, path: Path) -> list[Pattern]:
    if not ranges:
        raise FormatError("no 2θ range in the file")
    out = []
    for k, (x, y, meta, wave) in enumerate(ranges, start=1):
        m = {"format": f"Bruker RAW v{v}", "range": k, "intensity_unit": "counts", **common,
             **meta}
        name = (m.get("sample") or path.stem) + (f" range {k}" if len(ranges) > 1 else "")
        w = {**common.get("_wave", {}), **wave}
        m.pop("_wave", None)
        t = m.get("time_per_step_s")
        if isinstance(t, float) and np.isfinite(t) and 0 < t < 1e6:
            m["count_time_s"] = t
        out.append(make_pattern(x, y, path=path, name=name, metadata=m, where=f"range {k}: ",
                                **w))
    return out


def _v1(b: Binary) -> tuple[list, dict]:
    ranges = []
    pos, k, more = 4, 1, 1
    while more:
        if k > 1 and b.data[pos : pos + 4] == b"RAW ":
            pos += 4  # early files repeat the magic before each range
        what = f"range {k} header"
        steps = b.unpack("I", pos, what)
        step = b.unpack("f", pos + 8, what)
        start = b.unpack("f", pos + 20, what)
        meta = {"time_per_step_s": b.unpack("f", pos + 4, what),
                "sample": b.text(pos + 36, 32, what)}
        a1, a2 = b.unpack("f", pos + 68, what), b.unpack("f", pos + 72, what)
        more = b.unpack("I", pos + 148, what)
        x, y = _range(b, pos + 152, steps, start, step, k)
        ranges.append((x, y, meta, _wave(a1, a2, None)))
        pos += 152 + 4 * steps
        k += 1
        if more and pos >= len(b):
            raise FormatError(f"file ends before range {k} (range {k - 1} says another follows)")
    return ranges, {}


def _v2(b: Binary) -> tuple[list, dict]:
    n = b.unpack("H", 4, "file header")
    common: dict[str, Any] = {
        "date": b.text(168, 20, "file header"), "anode": b.text(188, 2, "file header")}
    common["_wave"] = _wave(b.unpack("f", 190, "file header"), b.unpack("f", 194, "file header"),
                            b.unpack("f", 198, "file header"))
    ranges, pos = [], 256
    for k in range(1, n + 1):
        what = f"range {k} header"
        hlen = b.unpack("H", pos, what)
        steps = b.unpack("H", pos + 2, what)
        if hlen < 48:
            raise FormatError(f"range {k} header length {hlen} < 48")
        meta = {"time_per_step_s": b.unpack("f", pos + 8, what)}
        x, y = _range(b, pos + hlen, steps, b.unpack("f", pos + 16, what),
                      b.unpack("f", pos + 12, what), k)
        ranges.append((x, y, meta, {}))
        pos += hlen + 4 * steps
    return ranges, common


def _v3(b: Binary) -> tuple[list, dict]:
    what = "file header"
    b.need(0, 712, what)
    n = b.unpack("I", 12, what)
    common: dict[str, Any] = {
        "date": b.text(16, 10, what), "clock": b.text(26, 10, what),
        "user": b.text(36, 72, what), "site": b.text(108, 218, what),
        "sample": b.text(326, 60, what), "comment": b.text(386, 160, what),
        "anode": b.text(608, 4, what), "kalpha_average": b.unpack("d", 616, what),
        "kbeta": b.unpack("d", 640, what), "file_status": b.unpack("I", 8, what),
    }
    radius = b.unpack("f", 564, what)
    if np.isfinite(radius) and 10 <= radius <= 2000:
        common["radius_mm"] = float(radius)
    when = iso_time(f"{common['date']} {common['clock']}", ("%m/%d/%y %H:%M:%S",))
    if when:
        common["time"] = when
    common["_wave"] = _wave(b.unpack("d", 624, what), b.unpack("d", 632, what),
                            b.unpack("d", 648, what))
    ranges, pos = [], 712
    for k in range(1, n + 1):
        what = f"range {k} header"
        hlen = b.unpack("I", pos, what)
        if hlen < 260:
            raise FormatError(f"range {k} header length {hlen} (304 expected)")
        b.need(pos, hlen, what)
        steps = b.unpack("I", pos + 4, what)
        supp = b.unpack("I", pos + 256, what)
        meta = {"start_theta": b.unpack("d", pos + 8, what),
                "time_per_step_s": b.unpack("f", pos + 192, what),
                "generator_kV": b.unpack("I", pos + 224, what),
                "generator_mA": b.unpack("I", pos + 228, what),
                "used_wavelength": b.unpack("d", pos + 240, what)}
        if supp > len(b):
            raise FormatError(f"range {k} supplementary header size {supp} exceeds the file")
        x, y = _range(b, pos + hlen + supp, steps, b.unpack("d", pos + 16, what),
                      b.unpack("d", pos + 176, what), k)
        ranges.append((x, y, meta, {}))
        pos += hlen + supp + 4 * steps
    return ranges, common


def _v4(b: Binary) -> tuple[list, dict]:
    what = "file header"
    common: dict[str, Any] = {"date": b.text(12, 12, what), "clock": b.text(24, 10, what)}
    when = iso_time(f"{common['date']} {common['clock']}", ("%m/%d/%Y %H:%M:%S",))
    if when:
        common["time"] = when
    pos = 61
    while True:  # file-level records until the first range
        rtype = b.unpack("I", pos, "record list")
        if rtype in (0, 160):
            break
        rlen = b.unpack("I", pos + 4, f"record at byte {pos}")
        if rlen < 8:
            raise FormatError(f"record at byte {pos} has length {rlen} (< 8)")
        b.need(pos, rlen, f"record type {rtype} at byte {pos}")
        if rtype == 10 and rlen >= 36:
            common[b.text(pos + 12, 24, "record")] = b.text(pos + 36, rlen - 36, "record")
        elif rtype == 30 and rlen >= 120:
            common["kalpha_average"] = b.unpack("d", pos + 72, "record")
            common["kbeta"] = b.unpack("d", pos + 96, "record")
            common["anode"] = b.text(pos + 116, 4, "record")
            common["_wave"] = _wave(b.unpack("d", pos + 80, "record"),
                                    b.unpack("d", pos + 88, "record"),
                                    b.unpack("d", pos + 104, "record"))
        pos += rlen
    ranges, skipped, k = [], [], 0
    while pos < len(b):
        k += 1
        what = f"range {k} header"
        b.need(pos, 160, what)
        scan_type = b.text(pos + 32, 24, what)
        start = b.unpack("d", pos + 72, what)
        step = b.unpack("d", pos + 80, what)
        steps = b.unpack("I", pos + 88, what)
        datum = b.unpack("I", pos + 136, what)
        supp = b.unpack("I", pos + 140, what)
        meta: dict[str, Any] = {"scan_type": scan_type,
                                "time_per_step_s": b.unpack("f", pos + 92, what),
                                "generator_kV": b.unpack("f", pos + 100, what),
                                "generator_mA": b.unpack("f", pos + 104, what),
                                "used_wavelength": b.unpack("d", pos + 112, what)}
        sub, end = pos + 160, pos + 160 + supp
        b.need(pos, 160 + supp, f"range {k} supplementary header")
        while sub < end:
            stype = b.unpack("I", sub, f"range {k} supplementary record")
            slen = b.unpack("I", sub + 4, f"range {k} supplementary record")
            if slen < 8 or sub + slen > end:
                raise FormatError(
                    f"range {k}: supplementary record at byte {sub} has length {slen}"
                )
            if stype == 50 and slen >= 64:
                axis = b.text(sub + 12, 24, "axis record")
                meta[f"start_{axis}"] = b.unpack("d", sub + 56, "axis record")
            sub += slen
        if datum != 4:
            raise FormatError(f"range {k}: {datum}-byte data points (4 expected)")
        data_at = end
        if scan_type in V4_SCANS:
            start2 = meta.get("start_2Theta", start)
            x, y = _range(b, data_at, steps, start2, step, k)
            ranges.append((x, y, meta, {}))
        else:
            b.need(data_at, 4 * steps, f"range {k} data")
            skipped.append(f"range {k} ({scan_type or 'unknown scan type'})")
        pos = data_at + 4 * steps
    if skipped:
        common["skipped_ranges"] = skipped
    return ranges, common
