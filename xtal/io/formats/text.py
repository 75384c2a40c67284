"""Column text: 2θ, intensity and optionally an esd per line (.xy, .xye, .dat, .txt, .csv).

Format followed: the informal "xy/xye" convention shared by GSAS-II's
``G2pwd_xye`` importer, FullProf's free two-column format and xylib's
``text`` reader (wojdyr/xylib): one point per line, columns separated by
whitespace, tabs, commas or semicolons; lines starting with ``#``, ``!``,
``;``, ``'`` or ``%`` are comments; non-numeric lines before the first data
line are a header (a wavelength stated there as ``wavelength = 1.5406`` or
``lambda: 1.5406`` is picked up).  A third column is the esd of the
intensity; further columns are ignored.  A decimal comma is accepted when the
separator is a semicolon or white space.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.io.formats._common import FormatError, decode_text, make_pattern

COMMENT_STARTS = ("#", "!", ";", "'", "%")
_WAVE = re.compile(r"(?:wave\s*length|lambda|λ)[^0-9=:]*[=:]?\s*([0-9]+\.[0-9]+)", re.I)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _split(line: str, sep: str | None) -> list[str]:
    if sep is None:
        return line.split()
    return [f.strip() for f in line.split(sep) if f.strip()]


def _guess_separator(line: str) -> tuple[str | None, bool]:
    """Separator of a data line and whether commas are decimal marks."""
    for sep in (";", "\t"):
        if sep in line:
            fields = _split(line, sep)
            comma_decimal = any("," in f for f in fields)
            return sep, comma_decimal
    if "," in line:
        fields = _split(line, ",")
        if len(fields) >= 2 and all(_NUMBER.match(f) for f in fields[:2]):
            return ",", False
        return None, True  # e.g. "10,00 281,0"
    return None, False


def _numeric_row(line: str) -> bool:
    sep, comma = _guess_separator(line)
    fields = _split(line.replace(",", ".") if comma else line, sep)
    return len(fields) >= 2 and all(_NUMBER.match(f) for f in fields[:2])


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


def read(data: bytes, path: Path) -> list[Pattern]:
    """Read a column text file; one pattern."""
    text = decode_text(data)
    if "\0" in text:
        raise FormatError("file is binary (contains NUL bytes), not column text")
    header: list[str] = []
    rows: list[str] = []
    line_no: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s:
            continue
        if s.startswith(COMMENT_STARTS):
            header.append(s)
            continue
        if not rows and not _numeric_row(s):
            header.append(s)
            continue
        rows.append(s)
        line_no.append(number)
    if not rows:
        raise FormatError("no numeric data lines (2θ and intensity) found")
    sep, comma_decimal = _guess_separator(rows[0])
    if comma_decimal:
        rows = [r.replace(",", ".") for r in rows]
    table = [_split(r, sep) for r in rows]
    ncol = len(table[0])
    for i, fields in enumerate(table):
        if len(fields) != ncol:
            raise FormatError(
                f"line {line_no[i]} has {len(fields)} column(s), "
                f"the first data line has {ncol}: {rows[i][:40]!r}"
            )
    try:
        values = np.array(table, dtype=float)
    except ValueError:
        for i, fields in enumerate(table):
            for f in fields:
                try:
                    float(f)
                except ValueError:
                    raise FormatError(
                        f"line {line_no[i]} is not numeric: {rows[i][:40]!r}"
                    ) from None
        raise
    sigma = values[:, 2] if ncol >= 3 else None
    wavelength = None
    for h in header:
        m = _WAVE.search(h)
        if m:
            wavelength = float(m.group(1))
            break
    meta = {"columns": ncol, "first_data_line": line_no[0]}
    if header:
        meta["header"] = header[:20]
    return [
        make_pattern(
            values[:, 0], values[:, 1], sigma, path=path, name=path.stem,
            wavelength=wavelength, metadata=meta,
        )
    ]
