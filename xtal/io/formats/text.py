"""Column text: 2θ, intensity and optionally an esd per line (.xy, .xye, .dat, .txt, .csv).

Format followed: the informal "xy/xye" convention shared by GSAS-II's
``G2pwd_xye`` importer, FullProf's free two-column format and xylib's
``text`` reader (wojdyr/xylib): one point per line, columns separated by
whitespace, tabs, commas or semicolons; lines starting with ``#``, ``!``,
``;``, ``'`` or ``%`` are comments; non-numeric lines before the first data
line are a header.  A third column is the esd of the intensity; further columns
are ignored.  A decimal comma is accepted when the separator is a semicolon, a
tab or white space.

What the header may say (looked for in comment and header lines)
    * a wavelength: ``wavelength = 1.5406`` or ``lambda: 1.5406`` (Å);
    * the 2θ unit: a 2θ/angle label with ``rad``/``radians`` means radians, converted
      to degrees (a label with ``deg`` confirms degrees);
    * the intensity unit: ``cps``, ``counts per second``, ``counts/s`` or ``c/s``
      mean counts per second; with a counting time per step (``time per step``,
      ``step time``, ``counting time``, ``count time`` or ``dwell time``, in s) they
      are turned into counts, otherwise kept and weighted as counts with a warning.

Reading is linear in the file size: numpy's C reader (``loadtxt``) reads the data
block straight from the file's bytes when the text is UTF-8 or Latin-1 without
decimal commas (memory: the file, its decoded text and the numbers, ≈ 3–4× the file);
other files go through a normalised copy of the text.
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.io.formats._common import (
    NUMBER,
    FormatError,
    decode,
    load_table,
    make_pattern,
    opt_float,
    parse_table,
    radiation,
    warn,
)

COMMENT_STARTS = ("#", "!", ";", "'", "%")
HEADER_LINES = 200  # a header longer than this is not a column file's header
_NUM = NUMBER.pattern
# possessive / bounded: linear even on a "lambda" followed by 200 000 spaces
_WAVE = re.compile(r"(?:wave\s?length|lambda|λ)[^0-9=:\n]{0,40}+[=:]?[ \t]{0,40}+(" + _NUM + ")",
                   re.I)
_TIME = re.compile(r"(?:time\s?per\s?step|step\s?time|count(?:ing)?\s?time|dwell\s?time)"
                   r"[^0-9=:\n]{0,40}+[=:]?[ \t]{0,40}+(" + _NUM + ")", re.I)
_ANGLE = re.compile(r"2\s?-?th|2θ|two.?theta|tth|angle", re.I)
_RAD = re.compile(r"[\[(]\s*rad(?:ians?)?\s*[\])]|\bin\s+rad(?:ians?)?\b|\bradians?\b", re.I)
_CPS = re.compile(r"\bcps\b|counts?\s?(?:per\s?s(?:ec(?:ond)?)?|/\s?s(?:ec)?)\b|\bc/s\b", re.I)
_TABLE = str.maketrans({";": " ", "\t": " ", ",": " "})
_COMMA_DECIMAL = str.maketrans({";": " ", "\t": " ", ",": "."})


def _split(line: str, sep: str | None) -> list[str]:
    if sep is None:
        return line.split()
    return [f.strip() for f in line.split(sep) if f.strip()]


def _guess_separator(line: str) -> tuple[str | None, bool]:
    """Separator of a data line and whether commas are decimal marks."""
    for sep in (";", "\t"):
        if sep in line:
            fields = _split(line, sep)
            return sep, any("," in f for f in fields)
    if "," in line:
        fields = _split(line, ",")
        if len(fields) >= 2 and all(NUMBER.fullmatch(f) for f in fields[:2]):
            return ",", False
        return None, True  # e.g. "10,00 281,0"
    return None, False


def _numeric_row(line: str) -> bool:
    if len(line) > 400:
        return False
    sep, comma = _guess_separator(line)
    fields = _split(line.replace(",", ".") if comma else line, sep)
    return len(fields) >= 2 and all(NUMBER.fullmatch(f) for f in fields[:2])


def looks_like_columns(text: str, max_lines: int = 60) -> bool:
    """Sniffer: some early non-comment line holds at least two numbers."""
    seen = 0
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith(COMMENT_STARTS):
            continue
        if _numeric_row(s):
            return True
        seen += 1
        if seen >= max_lines:
            break
    return False


def _header_and_body(text: str) -> tuple[list[str], int, int, str]:
    """Header lines, where the data block starts, its first line number and first line."""
    header: list[str] = []
    pos, number = 0, 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end + 1
        number += 1
        s = text[pos:end].strip()
        if s and not s.startswith(COMMENT_STARTS) and _numeric_row(s):
            return header, pos, number, s
        if s:
            header.append(s[:400])
        if len(header) > HEADER_LINES:
            break
        pos = end
    raise FormatError("no numeric data lines (2θ and intensity) found"
                      + (f" in the first {HEADER_LINES} lines" if pos < len(text) else ""))


def read(data: bytes, path: Path) -> list[Pattern]:
    """Read a column text file; one pattern."""
    text, enc = decode(data)
    if "\0" in text:
        raise FormatError("file is binary (contains NUL bytes), not column text")
    if "\r" in text[:65536] and "\n" not in text[:65536]:
        text = text.replace("\r", "\n")  # classic Mac line ends
        enc = "normalised"
    header, pos, first_no, first = _header_and_body(text)
    sep, comma_decimal = _guess_separator(first)
    ncol = len(_split(first.replace(",", ".") if comma_decimal else first, sep))
    values = None
    plain = not any(text.find(c, pos) >= 0 for c in COMMENT_STARTS if c != sep)
    if plain and not comma_decimal and enc in ("utf-8", "utf-8-sig", "latin-1"):
        values = _from_bytes(data, text, pos, enc, sep)
    if values is None or values.shape[1] != ncol:
        body = text[pos:]
        if any(c in body for c in COMMENT_STARTS):
            body = _drop_comments(body)
        body = body.translate(_COMMA_DECIMAL if comma_decimal else _TABLE)
        values = parse_table(body, ncol, "", first_line=first_no)
    del text
    meta: dict[str, Any] = {"columns": ncol, "first_data_line": first_no}
    if header:
        meta["header"] = header[:20]
    x, y = values[:, 0], values[:, 1]
    sigma = values[:, 2] if ncol >= 3 else None
    x = _angle_unit(x, header, meta)
    y, sigma = _intensity_unit(y, sigma, header, meta)
    wave = next((m.group(1) for h in header if (m := _WAVE.search(h))), None)
    rad = radiation(None if wave is None else float(wave), None, None,
                    names=("header wavelength", "", ""))
    return [make_pattern(x, y, sigma, path=path, name=path.stem, metadata=meta, **rad)]


def _from_bytes(data: bytes, text: str, pos: int, enc: str, sep: str | None
                ) -> np.ndarray | None:
    """The data block read by numpy straight from the file's bytes (no copy), or None."""
    offset = pos if enc == "latin-1" else len(text[:pos].encode("utf-8"))
    if enc == "utf-8-sig" or (enc == "latin-1" and data.startswith(b"\xef\xbb\xbf")):
        offset += 3
    stream = BytesIO(data)
    stream.seek(offset)
    table = load_table(stream, delimiter=sep)  # no comments: numpy's C path, not Python
    return table if table is not None and table.shape[0] else None


_COMMENT_LINE = re.compile(r"^[ \t]*+[#!;'%].*+$", re.M)


def _drop_comments(body: str) -> str:
    """Blank out comment lines inside the data block (line numbers stay right)."""
    if ";" in body.split("\n", 1)[0]:  # ';' separates columns here: only '#!'%' comment
        return re.sub(r"^[ \t]*+[#!'%].*+$", "", body, flags=re.M)
    return _COMMENT_LINE.sub("", body)


def _angle_unit(x: np.ndarray, header: list[str], meta: dict[str, Any]) -> np.ndarray:
    """2θ in degrees; converted from radians when a header labels the angle so."""
    labels = [h for h in header if _ANGLE.search(h)]
    if not any(_RAD.search(h) for h in labels):
        return x
    if x.size and np.nanmax(np.abs(x)) > np.pi:
        raise FormatError(f"the header gives 2θ in radians but 2θ goes up to {np.nanmax(x):.4g}")
    meta["two_theta_unit_in_file"] = "rad"
    return np.degrees(x)


def _intensity_unit(y: np.ndarray, sigma: np.ndarray | None, header: list[str],
                    meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    if not any(_CPS.search(h) for h in header):
        return y, sigma
    t = next((opt_float(m.group(1), 1e-6, 1e6) for h in header if (m := _TIME.search(h))),
             None)
    return cps_to_counts(y, sigma, t, meta)


def cps_to_counts(y: np.ndarray, sigma: np.ndarray | None, t: float | None,
                  meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """Counts from counts per second and the counting time per step ``t`` (s).

    Without ``t`` the values stay cps (``intensity_unit`` 'cps') and are weighted as
    counts, which gives the right relative weights but χ² and GOF scaled by 1/t:
    a warning says so.
    """
    if t is None:
        meta["intensity_unit"] = "cps"
        warn(meta, "intensities are counts per second and no counting time per step is "
                   "stated: weights are relative (σ ∝ √I), χ² and GOF are not absolute")
        return y, sigma
    meta.update(intensity_unit="counts", count_time_s=t, converted_from="cps")
    return y * t, None if sigma is None else sigma * t
