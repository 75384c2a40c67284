"""Rigaku SmartLab / MiniFlex files: .ras (text) and .rasx (zip).

Format followed: the RAS layout as read by GSAS-II's ``G2pwd_rigaku.py``
(AdvancedPhotonSource/GSAS-II) and other public readers (e.g.
garrekstemo/RigakuFiles.jl): ``*RAS_DATA_START``, then per scan a header
``*RAS_HEADER_START`` … ``*RAS_HEADER_END`` of lines ``*KEY "value"`` (e.g.
``*HW_XG_WAVE_LENGTH_ALPHA1 "1.540593"``, ``*HW_XG_TARGET_NAME "Cu"``,
``*FILE_SAMPLE``, ``*MEAS_SCAN_START_TIME``, ``*MEAS_SCAN_UNIT_Y``) and the
data ``*RAS_INT_START`` … ``*RAS_INT_END``: lines ``2θ intensity
[attenuator factor]``.  A ``.rasx`` file is a zip archive with, per scan
``n``, ``Data<n>/Profile<n>.txt`` (tab-separated ``2θ intensity factor``, often
with a UTF-8 BOM) and ``Data<n>/MesurementConditions<n>.xml`` (Rigaku's
spelling) holding e.g. ``WavelengthKalpha1``, ``WavelengthKalpha2``,
``TargetName``, ``SampleName``.

The intensity is multiplied by the attenuator factor when one is given; where
any factor differs from 1, ``sigma`` = √intensity × factor.  Units: a RAS header
``*MEAS_SCAN_UNIT_Y "cps"`` means counts per second; they are turned into counts
with the counting time per step, ``*MEAS_SCAN_STEP`` ÷ ``*MEAS_SCAN_SPEED`` (speed in
``*MEAS_SCAN_SPEED_UNIT``, deg/min or deg/s; seconds per step in step mode), or kept
with a warning when that time is unknown.  Scans whose ``*MEAS_SCAN_AXIS_X`` is not a
2θ axis (a rocking curve, a χ or φ scan) are skipped and listed in the metadata.
Wavelengths outside 0.05–5 Å are refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.io.formats._common import (
    FormatError,
    decode_text,
    iso_time,
    local,
    make_pattern,
    open_zip,
    opt_float,
    parse_table,
    parse_xml,
    radiation,
    to_float,
    zip_member,
)
from xtal.io.formats.text import cps_to_counts

_KEY = re.compile(r'^\*(\S{1,80}+)[ \t]++"?+([^"]{0,400}+)')
_SPEED_SECONDS = {"deg/min": 60.0, "degree/min": 60.0, "deg/sec": 1.0, "deg/s": 1.0}
_NOT_2THETA = ("omega", "chi", "phi", "z", "theta", "alpha", "beta", "rx", "ry")


def _stated(v: str | None, what: str) -> float | None:
    """A header number that must be a number when present (wavelengths)."""
    return None if v is None or not v.strip() else to_float(v, what)


def _columns(text: str, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """2θ, intensity × factor and sigma (or None) from ``2θ I [factor]`` lines."""
    body = text.replace(",", " ")
    first = next((ln.split() for ln in body[:4096].splitlines() if ln.strip()), [])
    ncol = len(first)
    if ncol < 2:
        raise FormatError(f"{where}data line 1 has {ncol} value(s)")
    table = parse_table(body, ncol, f"{where}data ")
    if table.shape[0] < 2:
        raise FormatError(f"{where}{table.shape[0]} data line(s)")
    x, y = table[:, 0], table[:, 1]
    if ncol >= 3:
        f = table[:, 2]
        if np.any(f != 1.0):
            return x, y * f, np.sqrt(np.maximum(y, 0.0)) * np.abs(f)
    return x, y, None


def _pattern(x: np.ndarray, y: np.ndarray, sigma: np.ndarray | None, header: dict[str, str],
             meta: dict[str, Any], name: str, path: Path, where: str,
             keys: tuple[str, str]) -> Pattern:
    rad = radiation(_stated(header.get(keys[0]), f"{where}{keys[0]}"),
                    _stated(header.get(keys[1]), f"{where}{keys[1]}"), None, where=where,
                    names=(keys[0], keys[1], "ratio"))
    return make_pattern(x, y, sigma, path=path, name=name[:100], metadata=meta,
                        esd_in_file=False, where=where, **rad)


def _ras_units(y: np.ndarray, sigma: np.ndarray | None, header: dict[str, str],
               meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """Counts from a RAS scan whose header declares cps (module docstring)."""
    unit = header.get("MEAS_SCAN_UNIT_Y", "").strip().lower()
    t = _count_time(header)
    if t is not None:
        meta["count_time_s"] = t
    if unit != "cps":
        if unit:
            meta["intensity_unit"] = unit[:20]
        return y, sigma
    return cps_to_counts(y, sigma, t, meta)


def _count_time(header: dict[str, str]) -> float | None:
    speed = opt_float(header.get("MEAS_SCAN_SPEED"), 1e-9, 1e9)
    unit = header.get("MEAS_SCAN_SPEED_UNIT", "").strip().lower()
    if speed is None:
        return None
    if header.get("MEAS_SCAN_MODE", "").strip().upper() == "STEP" and unit in ("s", "sec"):
        return speed
    step = opt_float(header.get("MEAS_SCAN_STEP"), 1e-9, 180)
    if step is None or unit not in _SPEED_SECONDS:
        return None
    return step / speed * _SPEED_SECONDS[unit]


_INT_END = re.compile(r"^[ \t]*+\*RAS_INT_END[ \t\r]*+$", re.M)


def read_ras(data: bytes, path: Path) -> list[Pattern]:
    """Read every 2θ scan of a .ras file (linear: each data block is found by one search)."""
    text = decode_text(data)
    out: list[Pattern] = []
    skipped: list[str] = []
    header: dict[str, str] = {}
    state, k, pos = "outside", 0, 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end + 1
        s = text[pos:end].strip()
        pos = end
        if s == "*RAS_HEADER_START":
            header, state = {}, "header"
        elif s == "*RAS_HEADER_END":
            state = "outside"
        elif s == "*RAS_INT_START":
            m = _INT_END.search(text, pos)
            if m is None:
                raise FormatError(f"file ends inside scan {k + 1} data (no *RAS_INT_END)")
            k += 1
            p = _ras_scan(text[pos : m.start()], header, k, path)
            (out.append(p) if p is not None else skipped.append(f"scan {k}"))
            state, pos = "outside", m.end()
        elif s == "*RAS_INT_END":
            raise FormatError("*RAS_INT_END without *RAS_INT_START")
        elif state == "header":
            m = _KEY.match(s)
            if m and len(header) < 1000:
                header[m.group(1)] = m.group(2).strip()
    if state == "header":
        raise FormatError(f"file ends inside scan {k + 1} header (no *RAS_HEADER_END)")
    if not out:
        raise FormatError("no *RAS_INT_START … *RAS_INT_END data block" if not skipped else
                          f"no 2θ scan ({', '.join(skipped[:5])}: not a 2θ axis)")
    if skipped:
        for p in out:
            p.metadata["skipped_scans"] = skipped
    return out


def _ras_scan(block: str, header: dict[str, str], k: int, path: Path) -> Pattern | None:
    where = f"scan {k}: "
    axis = header.get("MEAS_SCAN_AXIS_X", "").strip().lower()
    if axis in _NOT_2THETA:
        return None
    if "*" in block:  # other *KEY lines inside the data block are ignored
        block = re.sub(r"^[ \t]*+\*.*+$", "", block, flags=re.M)
    x, y, sigma = _columns(block, where)
    meta: dict[str, Any] = {"format": "Rigaku RAS", "scan": k,
                            "header": {a: b[:200] for a, b in list(header.items())[:200]}}
    for key, tag in (("date", "MEAS_SCAN_START_TIME"), ("anode", "HW_XG_TARGET_NAME"),
                     ("unit", "MEAS_SCAN_UNIT_Y"), ("instrument", "HW_GONIOMETER_NAME"),
                     ("scan_axis", "MEAS_SCAN_AXIS_X")):
        if header.get(tag):
            meta[key] = header[tag][:100]
    when = iso_time(header.get("MEAS_SCAN_START_TIME"))
    if when:
        meta["time"] = when
    y, sigma = _ras_units(y, sigma, header, meta)
    name = header.get("FILE_SAMPLE") or path.stem
    return _pattern(x, y, sigma, header, meta, name, path, where,
                    ("HW_XG_WAVE_LENGTH_ALPHA1", "HW_XG_WAVE_LENGTH_ALPHA2"))


def read_rasx(data: bytes, path: Path) -> list[Pattern]:
    """Read every ``Data<n>/Profile<n>.txt`` of a .rasx archive."""
    with open_zip(data) as archive:
        names = archive.namelist()
        profiles = sorted((n for n in names if re.fullmatch(r"Data\d{1,6}/Profile\d{1,6}\.txt", n)),
                          key=lambda n: int(re.findall(r"\d+", n)[-1]))
        if not profiles:
            raise FormatError("zip archive has no Data0/Profile0.txt member")
        out = []
        for member in profiles:
            folder, num = member.split("/")[0], re.findall(r"\d+", member)[-1]
            text = decode_text(zip_member(archive, member))
            if "*" in text or "#" in text:
                text = re.sub(r"^[ \t]*+[*#].*+$", "", text, flags=re.M)
            where = f"{member}: "
            x, y, sigma = _columns(text, where)
            cond = {}
            for cname in (f"{folder}/MesurementConditions{num}.xml",
                          f"{folder}/MeasurementConditions{num}.xml"):
                if cname in names:
                    root = parse_xml(zip_member(archive, cname), f"{cname}: ")
                    for el in root.iter():
                        if len(el) == 0 and el.text and el.text.strip():
                            cond.setdefault(local(el.tag), el.text.strip())
                    break
            meta = {"format": "Rigaku RASX", "member": member,
                    **{k: cond[k][:100] for k in ("SampleName", "TargetName", "SystemName",
                                                  "Voltage", "Current", "Step", "Speed",
                                                  "StartTime") if k in cond}}
            when = iso_time(cond.get("StartTime"))
            if when:
                meta["time"] = when
            name = cond.get("SampleName") or path.stem
            if len(profiles) > 1:
                name += f" {folder}"
            out.append(_pattern(x, y, sigma, cond, meta, name, path, where,
                                ("WavelengthKalpha1", "WavelengthKalpha2")))
    return out
