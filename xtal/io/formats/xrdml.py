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
``metadata``).  Where attenuation factors other than 1 are given, ``y`` is
counts × factor and ``sigma`` is √counts × factor.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.io.formats._common import FormatError, floats, local, make_pattern, to_float


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
    t = _text(el, *path)
    try:
        return None if t is None else float(t)
    except ValueError:
        return None


def read(data: bytes, path: Path) -> list[Pattern]:
    """Read every 2θ scan of an XRDML file."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise FormatError(f"corrupt XML ({err})") from None
    if local(root.tag) != "xrdMeasurements":
        raise FormatError(f"root element is <{local(root.tag)}>, not <xrdMeasurements>")
    sample = _text(root, "sample", "id") or _text(root, "sample", "name") or path.stem
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
    counts = floats(data_el.text.split(), f"{where}<{local(data_el.tag)}>")
    n = counts.size
    axis = next((p for p in _children(points, "positions") if p.get("axis") == "2Theta"), None)
    if axis is None:
        raise FormatError(f"{where}no 2Theta positions")
    listed = _text(axis, "listPositions")
    if listed is not None:
        x = floats(listed.split(), f"{where}2Theta listPositions")
        if x.size != n:
            raise FormatError(f"{where}{x.size} 2θ positions but {n} counts")
    elif _child(axis, "startPosition") is not None:
        a = to_float(_text(axis, "startPosition"), f"{where}2Theta startPosition")
        b = to_float(_text(axis, "endPosition"), f"{where}2Theta endPosition")
        if n < 2:
            raise FormatError(f"{where}only {n} count(s)")
        x = np.linspace(a, b, n)
    else:
        return None  # 2θ fixed (commonPosition): not a powder scan
    meta: dict[str, Any] = {"format": "PANalytical XRDML", "scan": number,
                            "scan_axis": scan.get("scanAxis"), "scan_mode": scan.get("mode"),
                            "unit": data_el.get("unit"), "data_element": local(data_el.tag)}
    if root_ns(meas):
        meta["schema"] = root_ns(meas)
    t = _opt_float(points, "commonCountingTime")
    if t is not None:
        meta["counting_time_s"] = t
    times = _text(points, "countingTimes")
    if times is not None:
        meta["counting_times_s"] = floats(times.split(), f"{where}countingTimes").tolist()
    header = _child(scan, "header")
    for key, tag in (("date", "startTimeStamp"), ("end_date", "endTimeStamp")):
        v = _text(header, tag)
        if v:
            meta[key] = v
    instrument = _text(header, "source", "instrumentControlSoftware")
    if instrument:
        meta["instrument"] = instrument
    radius = _opt_float(meas, "incidentBeamPath", "radius")
    if radius is not None:
        meta["radius_mm"] = radius
    tube = _child(_child(meas, "incidentBeamPath"), "xRayTube")
    if tube is not None:
        meta["tube"] = tube.get("name")
        for key, tag in (("anode", "anodeMaterial"), ("tension_kV", "tension"),
                         ("current_mA", "current")):
            v = _text(tube, tag)
            if v:
                meta[key] = v
    wave = _child(meas, "usedWavelength")
    if wave is not None and wave.get("intended"):
        meta["intended_wavelength"] = wave.get("intended")
    kb = _opt_float(wave, "kBeta")
    if kb is not None:
        meta["kbeta"] = kb
    if comments:
        meta["comments"] = comments
    y, sigma = counts, None
    att = _text(points, "beamAttenuationFactors")
    if att is not None:
        f = floats(att.split(), f"{where}beamAttenuationFactors")
        if f.size != n:
            raise FormatError(f"{where}{f.size} attenuation factors but {n} counts")
        if np.any(f != 1.0):
            y, sigma = counts * f, np.sqrt(np.maximum(counts, 0.0)) * f
            meta["attenuation_applied"] = True
    name = sample if total == 1 else f"{sample} scan {number}"
    return make_pattern(
        x, y, sigma, path=path, name=name, wavelength=_opt_float(wave, "kAlpha1"),
        wavelength2=_opt_float(wave, "kAlpha2"), ratio=_opt_float(wave, "ratioKAlpha2KAlpha1"),
        metadata=meta, esd_in_file=False, where=where,
    )


def root_ns(el: ET.Element) -> str:
    """Namespace URI of an element ('' if none)."""
    return el.tag[1:].split("}", 1)[0] if el.tag.startswith("{") else ""
