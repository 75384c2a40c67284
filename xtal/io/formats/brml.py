"""Bruker DIFFRAC.SUITE .brml: a zip archive of XML documents.

Format followed: the layout decoded by GSAS-II's ``G2pwd_BrukerBRML.py``
(AdvancedPhotonSource/GSAS-II) and other public readers: each measured range
is a member ``Experiment*/RawData<n>.xml`` whose root ``RawData`` holds
``DataRoutes/DataRoute`` elements; a route has ``ScanInformation`` (``ScanName``,
``MeasurementPoints``, ``TimePerStep``, ``ScanAxes/ScanAxisInfo`` with
``AxisName``/``Start``/``Stop``/``Increment``) and one ``Datum`` element per
step, comma-separated ``time, flag, 2θ, θ, …, counts`` (counts last;
``-9999`` marks a step that was never measured).  The tube's wavelengths are
empty elements ``WaveLengthAlpha1``/``WaveLengthAlpha2``/``WaveLengthRatio``
with a ``Value`` attribute, in ``RawData*.xml`` or ``MeasurementContainer.xml``.

Counts are kept as counts (GSAS-II rescales by the effective counting time;
this reader does not — the time per step is ``metadata['count_time_s']``).  Stated
wavelengths outside 0.05–5 Å or a ratio outside 0–1 are refused.  Members are read
through the bounded zip access of :mod:`xtal.io.formats._common`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.io.formats._common import (
    FormatError,
    iso_time,
    local,
    make_pattern,
    open_zip,
    opt_float,
    parse_table,
    parse_xml,
    radiation,
    zip_member,
)

RAWDATA = re.compile(r"(^|/)RawData(\d*)\.xml$", re.I)


def raw_members(archive: zipfile.ZipFile) -> list[str]:
    """``RawData*.xml`` members in numerical order."""
    names = [n for n in archive.namelist() if RAWDATA.search(n)]
    return sorted(names, key=lambda n: (int(RAWDATA.search(n).group(2) or 0), n))


def _first(root: ET.Element, name: str) -> ET.Element | None:
    return next((e for e in root.iter() if local(e.tag) == name), None)


def _value(root: ET.Element | None, name: str) -> float | None:
    """A stated value (``Value`` attribute or text; nm converted to Å); NaN if not a number."""
    if root is None:
        return None
    el = _first(root, name)
    if el is None:
        return None
    text = el.get("Value", el.text or "")
    if not text.strip():
        return None
    v = opt_float(text)
    if v is None:
        return float("nan")  # stated but not a number: refused by radiation()
    return v * 10.0 if el.get("Unit", "").lower() == "nm" else v


def _parse(data: bytes, member: str) -> ET.Element:
    return parse_xml(data, f"{member}: ")


def read(data: bytes, path: Path) -> list[Pattern]:
    """Read every 2θ route of every RawData member."""
    with open_zip(data) as archive:
        members = raw_members(archive)
        if not members:
            listed = ", ".join(archive.namelist()[:5]) or "none"
            raise FormatError(f"zip archive has no RawData*.xml member (members: {listed})")
        roots = [(m, _parse(zip_member(archive, m), m)) for m in members]
        container = next((n for n in archive.namelist()
                          if n.lower().endswith("measurementcontainer.xml")), None)
        extra = _parse(zip_member(archive, container), container) if container else None
    out: list[Pattern] = []
    for member, root in roots:
        stated = [_value(root, t) or _value(extra, t) for t in
                  ("WaveLengthAlpha1", "WaveLengthAlpha2", "WaveLengthRatio")]
        wave = radiation(*stated, where=f"{member}: ", names=(
            "WaveLengthAlpha1", "WaveLengthAlpha2", "WaveLengthRatio"))
        routes = [r for r in root.iter() if local(r.tag) == "DataRoute"]
        for k, route in enumerate(routes, start=1):
            p = _route(route, member, k, len(routes), wave, root, path)
            if p is not None:
                out.append(p)
    if not out:
        raise FormatError("no DataRoute with 2θ scan data (<Datum> elements)")
    return out


def _route(route: ET.Element, member: str, k: int, nroutes: int, wave: dict[str, float | None],
           root: ET.Element, path: Path) -> Pattern | None:
    where = f"{member}" + (f" route {k}" if nroutes > 1 else "") + ": "
    datums = [(e.text or "").strip() for e in route if local(e.tag) == "Datum"]
    if not datums:
        return None
    bad = next((i for i, d in enumerate(datums) if not d or "\n" in d), None)
    if bad is not None:
        raise FormatError(f"{where}Datum {bad + 1} is empty or spans lines")
    meta: dict[str, Any] = {"format": "Bruker BRML", "member": member}
    info = _first(route, "ScanInformation")
    start = inc = None
    if info is not None:
        for tag in ("ScanName", "MeasurementPoints", "TimePerStep", "TimePerStepEffective"):
            el = _first(info, tag)
            if el is not None and el.text:
                meta[tag] = el.text.strip()[:100]
        for ax in info.iter():
            axis = (ax.get("AxisName") or ax.get("AxisId") or "").replace("-", "").lower()
            if local(ax.tag) == "ScanAxisInfo" and axis in ("twotheta", "2theta"):
                s, i = _first(ax, "Start"), _first(ax, "Increment")
                start = opt_float(s.text) if s is not None and s.text else None
                inc = opt_float(i.text) if i is not None and i.text else None
    for tag in ("TimeStampStarted", "TimeStampFinished"):
        el = _first(root, tag)
        if el is not None and el.text:
            meta["date" if tag.endswith("Started") else "end_date"] = el.text.strip()[:60]
    when = iso_time(meta.get("date"))
    if when:
        meta["time"] = when
    t = opt_float(meta.get("TimePerStep"), 1e-6, 1e6)
    if t is not None:
        meta["count_time_s"] = t
    meta["intensity_unit"] = "counts"
    ncol = datums[0].count(",") + 1
    table = parse_table("\n".join(datums).replace(",", " "), ncol, f"{where}Datum ")
    y = table[:, -1]
    if ncol >= 4:
        x = table[:, 2]
    elif start is not None and inc is not None:
        x = start + inc * np.arange(table.shape[0])
    else:
        raise FormatError(f"{where}Datum has {ncol} values and no 2θ start/increment is given")
    keep = y != -9999
    if not keep.all():
        meta["unmeasured_steps"] = int((~keep).sum())
        x, y = x[keep], y[keep]
    name = f"{path.stem} {Path(member).stem}" + (f" route {k}" if nroutes > 1 else "")
    return make_pattern(x, y, path=path, name=name, metadata=meta, where=where, **wave)
