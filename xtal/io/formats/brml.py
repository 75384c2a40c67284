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
through the bounded zip access of :mod:`xtal.io.formats._common` and parsed in one
streaming pass (``iterparse``; each ``Datum`` element is dropped once read), so time
and memory grow linearly with the number of steps.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
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
    radiation,
    zip_member,
)

RAWDATA = re.compile(r"(^|/)RawData(\d*)\.xml$", re.I)
_WAVE_TAGS = ("WaveLengthAlpha1", "WaveLengthAlpha2", "WaveLengthRatio")
_STAMPS = {"TimeStampStarted": "date", "TimeStampFinished": "end_date"}
_INFO_TAGS = ("ScanName", "MeasurementPoints", "TimePerStep", "TimePerStepEffective")


@dataclass
class _Route:
    """What one ``DataRoute`` holds: its scan information and its ``Datum`` texts."""

    datums: list[str] = field(default_factory=list)
    info: dict[str, str] = field(default_factory=dict)
    start: float | None = None
    inc: float | None = None


@dataclass
class _Member:
    """One XML member, scanned: its routes, the first wavelength and time-stamp items."""

    routes: list[_Route] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)
    stamps: dict[str, str] = field(default_factory=dict)


def raw_members(archive: zipfile.ZipFile) -> list[str]:
    """``RawData*.xml`` members in numerical order."""
    names = [n for n in archive.namelist() if RAWDATA.search(n)]
    return sorted(names, key=lambda n: (int(RAWDATA.search(n).group(2)[:9] or 0), n))


def _scan(data: bytes, member: str) -> _Member:
    """One streaming pass over a member (linear time; Datum elements freed as read)."""
    out, route = _Member(), _Route()
    holder: ET.Element | None = None  # the DataRoute being read: its read children are dropped
    try:
        for event, el in ET.iterparse(BytesIO(data), events=("start", "end")):
            name = local(el.tag)
            if event == "start":
                if name == "DataRoute":
                    holder = el
                continue
            if name == "Datum":
                route.datums.append((el.text or "").strip())
                el.clear()
                if holder is not None and len(holder) >= 4096:
                    del holder[:]
            elif name == "ScanInformation":
                _scan_information(el, route)
            elif name == "DataRoute":
                out.routes.append(route)
                route, holder = _Route(), None
                el.clear()
            elif name in _WAVE_TAGS and name not in out.values:
                out.values[name] = _stated(el)
            elif name in _STAMPS and el.text and name not in out.stamps:
                out.stamps[_STAMPS[name]] = el.text.strip()[:60]
    except (ET.ParseError, LookupError, ValueError, UnicodeError) as err:
        raise FormatError(f"{member}: corrupt XML ({' '.join(str(err).split())[:80]})") from None
    return out


def _stated(el: ET.Element) -> float:
    """A stated value (``Value`` attribute or text; nm converted to Å); NaN if not a number."""
    text = el.get("Value", el.text or "")
    v = opt_float(text)
    if v is None:
        return float("nan")  # stated but not a number: refused by radiation()
    return v * 10.0 if el.get("Unit", "").lower() == "nm" else v


def _scan_information(info: ET.Element, route: _Route) -> None:
    for el in info.iter():
        name = local(el.tag)
        if name in _INFO_TAGS and el.text and name not in route.info:
            route.info[name] = el.text.strip()[:100]
        axis = (el.get("AxisName") or el.get("AxisId") or "").replace("-", "").lower()
        if name == "ScanAxisInfo" and axis in ("twotheta", "2theta"):
            for c in el:
                if local(c.tag) == "Start" and c.text:
                    route.start = opt_float(c.text)
                elif local(c.tag) == "Increment" and c.text:
                    route.inc = opt_float(c.text)


def read(data: bytes, path: Path) -> list[Pattern]:
    """Read every 2θ route of every RawData member."""
    with open_zip(data) as archive:
        members = raw_members(archive)
        if not members:
            listed = ", ".join(n[:40] for n in archive.namelist()[:5]) or "none"
            raise FormatError(f"zip archive has no RawData*.xml member (members: {listed})")
        scanned = [(m, _scan(zip_member(archive, m), m)) for m in members]
        container = next((n for n in archive.namelist()
                          if n.lower().endswith("measurementcontainer.xml")), None)
        extra = _scan(zip_member(archive, container), container).values if container else {}
    out: list[Pattern] = []
    for member, scan in scanned:
        stated = [scan.values.get(t) or extra.get(t) for t in _WAVE_TAGS]
        wave = radiation(*stated, where=f"{member}: ", names=_WAVE_TAGS)
        routes = scan.routes
        for k, route in enumerate(routes, start=1):
            p = _route(route, member, k, len(routes), wave, scan.stamps, path)
            if p is not None:
                out.append(p)
    if not out:
        raise FormatError("no DataRoute with 2θ scan data (<Datum> elements)")
    return out


def _route(route: _Route, member: str, k: int, nroutes: int, wave: dict[str, float | None],
           stamps: dict[str, str], path: Path) -> Pattern | None:
    where = f"{member}" + (f" route {k}" if nroutes > 1 else "") + ": "
    datums = route.datums
    if not datums:
        return None
    bad = next((i for i, d in enumerate(datums) if not d or "\n" in d), None)
    if bad is not None:
        raise FormatError(f"{where}Datum {bad + 1} is empty or spans lines")
    meta: dict[str, Any] = {"format": "Bruker BRML", "member": member, **route.info, **stamps}
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
    elif route.start is not None and route.inc is not None:
        x = route.start + route.inc * np.arange(table.shape[0])
    else:
        raise FormatError(f"{where}Datum has {ncol} values and no 2θ start/increment is given")
    keep = y != -9999
    if not keep.all():
        meta["unmeasured_steps"] = int((~keep).sum())
        x, y = x[keep], y[keep]
    name = f"{path.stem} {Path(member).stem}" + (f" route {k}" if nroutes > 1 else "")
    return make_pattern(x, y, path=path, name=name, metadata=meta, where=where, **wave)
