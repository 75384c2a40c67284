"""PANalytical XRDML (.xrdml): XML, one pattern per ``scan`` element.

Format followed: the XRDML schema published by PANalytical
(``http://www.xrdml.com/XRDMeasurement/1.x/XRDMeasurement.xsd``), checked
against GSAS-II's ``G2pwd_Panalytical.py`` and xylib's ``xrdml.cpp``:
``xrdMeasurements/xrdMeasurement`` holds ``usedWavelength`` (``kAlpha1``,
``kAlpha2``, ``kBeta``, ``ratioKAlpha2KAlpha1``), the beam paths (goniometer
``radius``, X-ray tube) and one or more ``scan`` elements; each scan's
``dataPoints`` has ``positions axis="2Theta"`` as ``startPosition`` /
``endPosition`` (equally spaced points) or ``listPositions``, the counting
time (``commonCountingTime`` or ``countingTimes``), optional
``beamAttenuationFactors`` and the data as ``counts`` or ``intensities``.

Counts are kept as counts (not divided by the counting time, which goes to
``metadata['count_time_s']``); data whose ``unit`` attribute says counts per second
are multiplied by the counting time.  Where attenuation factors other than 1 are
given, ``y`` is counts × factor and ``sigma`` is √counts × factor.  2θ positions
with ``unit="rad"`` are converted to degrees.

Wavelengths: ``kAlpha1``/``kAlpha2`` in Å (``unit="nm"`` is converted); a stated
value outside 0.05–5 Å, or a ratio outside 0–1, is refused (never replaced by Cu).
Temperature: a scan's ``nonAmbientPoints type="Temperature"`` gives
``temperature_K``, the mean of its ``nonAmbientValues`` (in K unless ``unit`` says
°C), as GSAS-II's importer stores its last value as the sample temperature.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.io.formats._common import (
    FormatError,
    iso_time,
    local,
    make_pattern,
    numbers,
    opt_float,
    parse_xml,
    radiation,
    to_float,
)
from xtal.io.formats.text import cps_to_counts

_CPS_UNITS = ("cps", "counts/s", "counts per second", "counts/second")


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    for c in el:
        if local(c.tag) == name:
            return c
    return None


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if local(c.tag) == name]


def _text(el: ET.Element | None, *path: str) -> str | None:
    for name in path:
        el = _child(el, name)
    return None if el is None or el.text is None else el.text.strip()


def _opt_float(el: ET.Element | None, *path: str) -> float | None:
    return opt_float(_text(el, *path))


def _length(el: ET.Element | None, name: str, where: str) -> float | None:
    """A stated wavelength in Å (``unit="nm"`` converted); FormatError if not a number."""
    c = _child(el, name)
    if c is None or c.text is None or not c.text.strip():
        return None
    v = to_float(c.text, f"{where}<{name}>")
    return v * 10.0 if (c.get("unit") or "").lower() == "nm" else v


def read(data: bytes, path: Path) -> list[Pattern]:
    """Read every 2θ scan of an XRDML file."""
    root = parse_xml(data)
    if local(root.tag) != "xrdMeasurements":
        raise FormatError(f"root element is <{local(root.tag)}>, not <xrdMeasurements>")
    sample = (_text(root, "sample", "id") or _text(root, "sample", "name") or path.stem)[:100]
    comments = [e.text.strip() for e in root.iter() if local(e.tag) == "entry" and e.text]
    out: list[Pattern] = []
    skipped: list[str] = []
    measurements = _children(root, "xrdMeasurement")
    if not measurements:
        raise FormatError("no <xrdMeasurement> element")
    scans = [(m, s) for m in measurements for s in _children(m, "scan")]
    if not scans:
        raise FormatError("no <scan> element")
    for number, (meas, scan) in enumerate(scans, start=1):
        p = _scan(meas, scan, number, len(scans), sample, comments, path)
        if p is None:
            skipped.append(str(number))
        else:
            out.append(p)
    if not out:
        raise FormatError(f"no 2θ scan (scans {', '.join(skipped)} do not move 2θ)")
    return out


def _scan(meas: ET.Element, scan: ET.Element, number: int, total: int, sample: str,
          comments: list[str], path: Path) -> Pattern | None:
    where = f"scan {number}: "
    points = _child(scan, "dataPoints")
    if points is None:
        raise FormatError(f"{where}no <dataPoints>")
    data_el = _child(points, "counts")
    if data_el is None:
        data_el = _child(points, "intensities")
    if data_el is None or not (data_el.text or "").strip():
        raise FormatError(f"{where}no <counts> or <intensities> data")
    counts = numbers(data_el.text, f"{where}<{local(data_el.tag)}>")
    n = counts.size
    x = _positions(points, n, where)
    if x is None:
        return None  # 2θ fixed (commonPosition): not a powder scan
    meta = _metadata(meas, scan, points, number, data_el, comments, where)
    y, sigma = counts, None
    att = _text(points, "beamAttenuationFactors")
    if att is not None:
        f = numbers(att, f"{where}beamAttenuationFactors")
        if f.size != n:
            raise FormatError(f"{where}{f.size} attenuation factors but {n} counts")
        if np.any(f != 1.0):
            y, sigma = counts * f, np.sqrt(np.maximum(counts, 0.0)) * np.abs(f)
            meta["attenuation_applied"] = True
    unit = (data_el.get("unit") or "counts").strip().lower()
    if unit in _CPS_UNITS:
        y, sigma = cps_to_counts(y, sigma, _time_per_point(points, n, where), meta)
    else:
        meta["intensity_unit"] = "counts"
    wave = _child(meas, "usedWavelength")
    ratio = _text(wave, "ratioKAlpha2KAlpha1")
    rad = radiation(_length(wave, "kAlpha1", where), _length(wave, "kAlpha2", where),
                    None if ratio is None else to_float(ratio, f"{where}<ratioKAlpha2KAlpha1>"),
                    where=where, names=("kAlpha1", "kAlpha2", "ratioKAlpha2KAlpha1"))
    name = sample if total == 1 else f"{sample} scan {number}"
    return make_pattern(x, y, sigma, path=path, name=name, metadata=meta, esd_in_file=False,
                        where=where, **rad)


def _positions(points: ET.Element, n: int, where: str) -> np.ndarray | None:
    axis = next((p for p in _children(points, "positions") if p.get("axis") == "2Theta"), None)
    if axis is None:
        raise FormatError(f"{where}no 2Theta positions")
    listed = _text(axis, "listPositions")
    if listed is not None:
        x = numbers(listed, f"{where}2Theta listPositions")
        if x.size != n:
            raise FormatError(f"{where}{x.size} 2θ positions but {n} counts")
    elif _child(axis, "startPosition") is not None:
        a = to_float(_text(axis, "startPosition"), f"{where}2Theta startPosition")
        b = to_float(_text(axis, "endPosition"), f"{where}2Theta endPosition")
        if n < 2:
            raise FormatError(f"{where}only {n} count(s)")
        x = np.linspace(a, b, n)
    else:
        return None
    if (axis.get("unit") or "deg").strip().lower() in ("rad", "radian", "radians"):
        x = np.degrees(x)
    return x


def _time_per_point(points: ET.Element, n: int, where: str) -> float | np.ndarray | None:
    t = _opt_float(points, "commonCountingTime")
    if t is not None and t > 0:
        return t
    times = _text(points, "countingTimes")
    if times is not None:
        tt = numbers(times, f"{where}countingTimes")
        if tt.size == n and np.all(tt > 0):
            return tt
    return None


def _metadata(meas: ET.Element, scan: ET.Element, points: ET.Element, number: int,
              data_el: ET.Element, comments: list[str], where: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"format": "PANalytical XRDML", "scan": number,
                            "scan_axis": scan.get("scanAxis"), "scan_mode": scan.get("mode"),
                            "unit": data_el.get("unit"), "data_element": local(data_el.tag)}
    if root_ns(meas):
        meta["schema"] = root_ns(meas)
    t = _opt_float(points, "commonCountingTime")
    if t is not None and t > 0:
        meta["count_time_s"] = t
    header = _child(scan, "header")
    for key, tag in (("date", "startTimeStamp"), ("end_date", "endTimeStamp")):
        v = _text(header, tag)
        if v:
            meta[key] = v[:60]
    when = iso_time(_text(header, "startTimeStamp"))
    if when:
        meta["time"] = when
    instrument = _text(header, "source", "instrumentControlSoftware")
    if instrument:
        meta["instrument"] = instrument[:200]
    radius = _opt_float(meas, "incidentBeamPath", "radius")
    if radius is not None and 10 <= radius <= 2000:
        meta["radius_mm"] = radius
    tube = _child(_child(meas, "incidentBeamPath"), "xRayTube")
    if tube is not None:
        meta["tube"] = tube.get("name")
        for key, tag in (("anode", "anodeMaterial"), ("tension_kV", "tension"),
                         ("current_mA", "current")):
            v = _text(tube, tag)
            if v:
                meta[key] = v[:60]
    wave = _child(meas, "usedWavelength")
    if wave is not None and wave.get("intended"):
        meta["intended_wavelength"] = wave.get("intended")
    kb = _opt_float(wave, "kBeta")
    if kb is not None:
        meta["kbeta"] = kb
    temp = _temperature(scan)
    if temp is not None:
        meta["temperature_K"] = temp
    if comments:
        meta["comments"] = [c[:200] for c in comments[:20]]
    return meta


def _temperature(scan: ET.Element) -> float | None:
    """Mean sample temperature (K) of a scan's non-ambient points, or None."""
    cond = _child(scan, "nonAmbientPoints")
    if cond is None or (cond.get("type") or "").lower() != "temperature":
        return None
    values_el = _child(cond, "nonAmbientValues")
    if values_el is None or not (values_el.text or "").strip():
        return None
    try:
        values = numbers(values_el.text, "nonAmbientValues")
    except FormatError:
        return None
    if values.size == 0 or not np.all(np.isfinite(values)):
        return None
    unit = (values_el.get("unit") or cond.get("unit") or "K").strip().lower()
    mean = float(values.mean()) + (273.15 if unit in ("c", "°c", "celsius", "degc") else 0.0)
    return mean if 0 < mean < 5000 else None


def root_ns(el: ET.Element) -> str:
    """Namespace URI of an element ('' if none)."""
    return el.tag[1:].split("}", 1)[0] if el.tag.startswith("{") else ""
