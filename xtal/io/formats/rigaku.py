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
any factor differs from 1, ``sigma`` = √intensity × factor.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.io.formats._common import (
    FormatError,
    decode_text,
    floats,
    local,
    make_pattern,
    open_zip,
    zip_member,
)

_KEY = re.compile(r'^\*(\S+)\s+"?(.*?)"?\s*$')


def _float(v: str | None) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except ValueError:
        return None


def _columns(lines: list[str], where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """2θ, intensity × factor and sigma (or None) from ``2θ I [factor]`` lines."""
    rows = [ln.replace(",", " ").split() for ln in lines if ln.strip()]
    if len(rows) < 2:
        raise FormatError(f"{where}{len(rows)} data line(s)")
    ncol = len(rows[0])
    if ncol < 2:
        raise FormatError(f"{where}data line 1 has {ncol} value(s)")
    for i, r in enumerate(rows):
        if len(r) != ncol:
            raise FormatError(f"{where}data line {i + 1} has {len(r)} values, the first has {ncol}")
    table = floats([v for r in rows for v in r], f"{where}data").reshape(-1, ncol)
    x, y = table[:, 0], table[:, 1]
    if ncol >= 3:
        f = table[:, 2]
        if np.any(f != 1.0):
            return x, y * f, np.sqrt(np.maximum(y, 0.0)) * np.abs(f)
    return x, y, None


def _pattern(x: np.ndarray, y: np.ndarray, sigma: np.ndarray | None, header: dict[str, str],
             meta: dict[str, Any], name: str, path: Path, where: str,
             keys: tuple[str, str, str]) -> Pattern:
    a1, a2 = _float(header.get(keys[0])), _float(header.get(keys[1]))
    return make_pattern(x, y, sigma, path=path, name=name, wavelength=a1,
                        wavelength2=a2 if a2 not in (None, a1) else None,
                        metadata=meta, esd_in_file=False, where=where)


def read_ras(data: bytes, path: Path) -> list[Pattern]:
    """Read every scan of a .ras file."""
    lines = decode_text(data).splitlines()
    out: list[Pattern] = []
    header: dict[str, str] = {}
    block: list[str] | None = None
    state = "outside"
    for line in lines:
        s = line.strip()
        if s == "*RAS_HEADER_START":
            header, state = {}, "header"
        elif s == "*RAS_HEADER_END":
            state = "outside"
        elif s == "*RAS_INT_START":
            block, state = [], "data"
        elif s == "*RAS_INT_END":
            if block is None:
                raise FormatError("*RAS_INT_END without *RAS_INT_START")
            k = len(out) + 1
            where = f"scan {k}: "
            x, y, sigma = _columns(block, where)
            meta = {"format": "Rigaku RAS", "scan": k, "header": dict(header)}
            for key, tag in (("date", "MEAS_SCAN_START_TIME"), ("anode", "HW_XG_TARGET_NAME"),
                             ("unit", "MEAS_SCAN_UNIT_Y"), ("instrument", "HW_GONIOMETER_NAME"),
                             ("scan_axis", "MEAS_SCAN_AXIS_X")):
                if header.get(tag):
                    meta[key] = header[tag]
            name = header.get("FILE_SAMPLE") or path.stem
            out.append(_pattern(x, y, sigma, header, meta, name, path, where,
                                ("HW_XG_WAVE_LENGTH_ALPHA1", "HW_XG_WAVE_LENGTH_ALPHA2", "")))
            block, state = None, "outside"
        elif state == "header":
            m = _KEY.match(s)
            if m:
                header[m.group(1)] = m.group(2)
        elif state == "data" and block is not None and not s.startswith("*"):
            block.append(s)
    if state == "data":
        raise FormatError(f"file ends inside scan {len(out) + 1} data (no *RAS_INT_END)")
    if state == "header":
        raise FormatError(f"file ends inside scan {len(out) + 1} header (no *RAS_HEADER_END)")
    if not out:
        raise FormatError("no *RAS_INT_START … *RAS_INT_END data block")
    return out


def read_rasx(data: bytes, path: Path) -> list[Pattern]:
    """Read every ``Data<n>/Profile<n>.txt`` of a .rasx archive."""
    with open_zip(data) as archive:
        names = archive.namelist()
        profiles = sorted((n for n in names if re.fullmatch(r"Data\d+/Profile\d+\.txt", n)),
                          key=lambda n: int(re.findall(r"\d+", n)[-1]))
        if not profiles:
            raise FormatError("zip archive has no Data0/Profile0.txt member")
        out = []
        for member in profiles:
            folder, num = member.split("/")[0], re.findall(r"\d+", member)[-1]
            text = decode_text(zip_member(archive, member))
            lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith(("*", "#"))]
            where = f"{member}: "
            x, y, sigma = _columns(lines, where)
            cond = {}
            for cname in (f"{folder}/MesurementConditions{num}.xml",
                          f"{folder}/MeasurementConditions{num}.xml"):
                if cname in names:
                    try:
                        root = ET.fromstring(zip_member(archive, cname))
                    except ET.ParseError as err:
                        raise FormatError(f"{cname}: corrupt XML ({err})") from None
                    for el in root.iter():
                        if len(el) == 0 and el.text and el.text.strip():
                            cond.setdefault(local(el.tag), el.text.strip())
                    break
            meta = {"format": "Rigaku RASX", "member": member,
                    **{k: cond[k] for k in ("SampleName", "TargetName", "SystemName", "Voltage",
                                            "Current", "Step", "Speed", "StartTime") if k in cond}}
            name = cond.get("SampleName") or path.stem
            if len(profiles) > 1:
                name += f" {folder}"
            out.append(_pattern(x, y, sigma, cond, meta, name, path, where,
                                ("WavelengthKalpha1", "WavelengthKalpha2", "")))
    return out
