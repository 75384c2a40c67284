"""GSAS powder data files: STD, ESD, ALT, FXY and FXYE banks (.gsa, .gsas, .gss, .xra, .fxye, .raw).

Format followed: the GSAS manual (Larson & Von Dreele, LAUR 86-748, section
"Powder data files") as implemented by GSAS-II's importer
``GSASII/imports/G2pwd_fxye.py`` (AdvancedPhotonSource/GSAS-II), whose
behaviour this reader matches:

* line 1 is a title; an optional ``Instrument parameter`` line and ``#``
  comment lines may follow;
* each bank starts with ``BANK ibank nchan nrec bintyp bcoef1 bcoef2 ... type``;
  for constant-wavelength data ``bintyp`` is ``CONST`` (or ``CONS``) and
  2θ = (bcoef1 + i·bcoef2)/100, in centidegrees;
* ``STD``: records of ten 8-character fields, each a 2-character counter
  number (blank = 1) and a 6-character count; variance = count / counters.
  GSAS-II keeps the first NCHAN−1 points of a STD bank, and so does this reader
  (PBSO4.XRA: NCHAN 6001 → 6000 points, 10.000–159.975°);
* ``ESD``: records of five 16-character fields, an 8-character value and an
  8-character esd;
* ``FXY``/``FXYE``: free-format lines ``x y [esd]`` with x in centidegrees;
* ``ALT``: records of four 20-character fields, x (8 characters, 1/32
  centidegree), y (7) and esd (5), both in thousandths, as GSAS-II decodes them.

Only constant-wavelength (2θ) X-ray banks are read; time-of-flight and
energy-dispersive banks are refused with a clear message, and so are files that say
they hold neutron data (GSAS's ``.cwn`` extension, or "neutron" in the title), until
xtal computes neutron scattering.

Header comments ``# key = value`` (as APS 11-BM writes them) go to the metadata;
``# Temp (K)`` is the sample temperature (``temperature_K``), ``# Scan Comment``,
when it is a bare number next to a ``Temp (K)`` line, the controller set-point
(``temperature_setpoint_K``; 11-BM's convention, see ../shared/data/README.md) and
``# Scan time`` the start of the measurement (``time``, ISO 8601).
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
    make_pattern,
    opt_float,
    parse_table,
)

DATA_TYPES = ("STD", "ESD", "ALT", "FXYE", "FXY")
_BANK = re.compile(r"^BANK", re.M)
_HEADER_ITEM = re.compile(r"^#[ \t]*+([^=\n]{1,60}?)[ \t]*+=[ \t]*+([^\n]{0,200})", re.M)
_NEUTRON = re.compile(r"\bneutrons?\b", re.I)


def has_bank_line(text: str, max_lines: int = 40) -> bool:
    """Sniffer: a ``BANK`` line after the title line, near the top."""
    for i, line in enumerate(text.splitlines()[:max_lines]):
        if i > 0 and line.startswith("BANK") and len(line.split()) >= 4:
            return True
    return False


def _fields(lines: list[str], width: int, per_line: int) -> np.ndarray:
    """Fixed-width fields of data records as an (n, width) array of bytes (lines padded)."""
    size = width * per_line
    buf = "".join(line.replace("\x1a", "").ljust(size)[:size] for line in lines)
    try:
        raw = buf.encode("ascii")
    except UnicodeEncodeError:
        i = next(k for k, c in enumerate(buf) if ord(c) > 127)
        raise FormatError(f"non-ASCII character in data record {i // size + 1}") from None
    return np.frombuffer(raw, dtype="u1").reshape(-1, width)


def _numbers(cols: np.ndarray, what: str, blank: float | None = None) -> np.ndarray:
    """Parse fixed-width fields (rows of bytes); blank fields give ``blank`` or an error."""
    is_blank = (cols == 32).all(axis=1)
    text = cols.copy().view(f"S{cols.shape[1]}").ravel()
    if blank is not None:
        text = np.where(is_blank, b"0", text)
    elif is_blank.any():
        i = int(np.argmax(is_blank))
        raise FormatError(f"{what} {i + 1} is blank")
    try:
        out = text.astype(float)
    except ValueError:
        for i, t in enumerate(text):
            try:
                float(t)
            except ValueError:
                raise FormatError(f"{what} {i + 1} is not a number ({t.decode()!r})") from None
        raise
    if blank is not None:
        out[is_blank] = blank
    return out


def _std(lines: list[str], nchan: int, bank: str) -> tuple[np.ndarray, np.ndarray]:
    f = _fields(lines, 8, 10)
    if f.shape[0] < nchan or (f[nchan - 1] == 32).all():
        present = int((~(f == 32).all(axis=1)).sum())
        raise FormatError(f"{bank}: NCHAN is {nchan} but the bank holds only {present} counts")
    f = f[:nchan]
    counts = _numbers(f[:, 2:], f"{bank}: count")
    counters = _numbers(f[:, :2], f"{bank}: counter number", blank=1.0)
    if np.any(counters <= 0):
        raise FormatError(f"{bank}: counter number ≤ 0")
    return counts, counters


def _esd(lines: list[str], nchan: int, bank: str) -> tuple[np.ndarray, np.ndarray]:
    f = _fields(lines, 16, 5)
    if f.shape[0] < nchan or (f[nchan - 1] == 32).all():
        raise FormatError(f"{bank}: NCHAN is {nchan} but the bank ends early")
    f = f[:nchan]
    return _numbers(f[:, :8], f"{bank}: value"), _numbers(f[:, 8:], f"{bank}: esd")


def _alt(lines: list[str], bank: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f = _fields(lines, 20, 4)
    f = f[~(f[:, :8] == 32).all(axis=1)]
    x = _numbers(f[:, :8], f"{bank}: x")
    y = _numbers(f[:, 8:15], f"{bank}: y")
    e = _numbers(f[:, 15:20], f"{bank}: esd")
    return x / 3200.0, y / 1000.0, e / 1000.0


def _free(block: str, ncol: int, bank: str) -> np.ndarray:
    """Columns x, y[, esd] of a free-format bank, in linear time."""
    if "\x1a" in block:
        block = block.replace("\x1a", "")
    first = next((ln for ln in block[: 2**16].splitlines() if ln.strip()), None)
    if first is None:
        raise FormatError(f"{bank}: no data lines")
    n_in_file = len(first.split())
    if n_in_file < ncol:
        raise FormatError(f"{bank}: data line 1 has {n_in_file} values, {ncol} needed")
    return parse_table(block, n_in_file, f"{bank}: ")[:, :ncol]


def read(data: bytes, path: Path) -> list[Pattern]:
    """Read every bank of a GSAS powder data file."""
    text = decode_text(data)
    nl = text.find("\n")
    nl = len(text) if nl < 0 else nl
    title = text[:nl].strip()[:200]
    if path.suffix.lower() == ".cwn" or _NEUTRON.search(title):
        raise FormatError("neutron data (GSAS .cwn extension or 'neutron' in the title): xtal "
                          "computes X-ray scattering only, so neutron patterns cannot be used yet")
    starts = [m.start() for m in _BANK.finditer(text, nl + 1)]
    if not starts:
        raise FormatError("no BANK line")
    meta = _header(title, text[nl + 1 : starts[0]])
    out = []
    for k, a in enumerate(starts):
        b = starts[k + 1] if k + 1 < len(starts) else len(text)
        eol = text.find("\n", a, b)
        eol = b if eol < 0 else eol
        line = text[a:eol]
        last = line.split()[-1].upper() if line.split() else ""
        try:
            block = _data_block(text[eol + 1 : b])  # the one copy of the bank's data
            out.append(_bank(line, block, k + 1, title, meta, path))
            del block
        except FormatError as err:
            raise FormatError(str(err), variant=last if last in DATA_TYPES else "STD") from None
    return out


def _data_block(block: str) -> str:
    """A bank's text without comment, TIME_MAP and Monitor lines."""
    if "#" in block or "TIME_MAP" in block or "Monitor" in block:
        return re.sub(r"^(?:#|TIME_MAP|Monitor).*+(?:\n|\Z)", "", block, flags=re.M)
    return block


def _header(title: str, head: str) -> dict[str, Any]:
    """Metadata from the lines between the title and the first BANK line."""
    meta: dict[str, Any] = {"title": title}
    first = head.split("\n", 1)[0]
    if first.lower().startswith("inst"):
        meta["instrument_parameter_file"] = (first.split(":", 1)[-1] if ":" in first
                                             else first[20:]).strip()[:200]
    items = {k.strip(): v.strip() for k, v in _HEADER_ITEM.findall(head[:65536])[:100]}
    if items:
        meta["header"] = items
    temp = opt_float(items.get("Temp (K)"), 0.0, 1e4)
    if temp is not None:
        meta["temperature_K"] = temp
        setpoint = opt_float(items.get("Scan Comment"), 0.0, 1e4)
        if setpoint is not None:
            meta["temperature_setpoint_K"] = setpoint
    when = iso_time(items.get("Scan time", ""))
    if when:
        meta["time"] = when
    return meta


def _bank(line: str, block: str, k: int, title: str, common: dict[str, Any],
          path: Path) -> Pattern:
    tok = line.split()
    label = f"bank {tok[1][:12] if len(tok) > 1 else k}"
    if len(tok) < 5:
        raise FormatError(f"{label}: BANK line has too few fields: {line.strip()[:60]!r}")
    try:
        nchan, nrec = int(tok[2]), int(tok[3])
    except ValueError:
        raise FormatError(f"{label}: NCHAN/NREC are not integers: {line.strip()[:60]!r}") from None
    if not 2 <= nchan <= 10**8:
        raise FormatError(f"{label}: NCHAN is {nchan}")
    bintyp = tok[4].upper()
    kind = tok[-1].upper() if tok[-1].upper() in DATA_TYPES else "STD"
    if bintyp not in ("CONST", "CONS"):
        raise FormatError(
            f"{label}: binning type {tok[4][:20]} (time-of-flight or energy-dispersive) is not "
            "supported; only CONST (constant-wavelength 2θ) banks are read"
        )
    meta = {**common, "bank": tok[1], "nchan": nchan, "nrec": nrec, "data_type": kind,
            "bank_line": line.strip()[:200]}
    name = f"{title or path.stem} {label}"
    where = f"{label}: "
    if kind in ("STD", "ESD"):
        start, step = _start_step(tok, label, line)
        lines = block.splitlines()
        if kind == "STD":
            all_counts, all_counters = _std(lines, nchan, label)
            n = nchan - 1  # GSAS-II keeps NCHAN-1 points of a STD bank
            counts, counters = all_counts[:n], all_counters[:n]
            x = start + step * np.arange(n)
            meta["points_kept"] = "NCHAN-1 (as GSAS-II)"
            meta["intensity_unit"] = "counts"
            meta["last_channel_count"] = float(all_counts[-1])
            sigma = np.sqrt(np.maximum(counts, 0.0) / counters)
            return make_pattern(x, counts, sigma, path=path, name=name, metadata=meta,
                                esd_in_file=False, where=where)
        values, esds = _esd(lines, nchan, label)
        x = start + step * np.arange(nchan)
        return make_pattern(x, values, esds, path=path, name=name, metadata=meta, where=where)
    if kind == "ALT":
        x, y, e = _alt(block.splitlines(), label)
        return make_pattern(x, y, e, path=path, name=name, metadata=meta, where=where)
    ncol = 3 if kind == "FXYE" else 2
    table = _free(block, ncol, label)
    if table.shape[0] != nchan:
        meta["nchan_mismatch"] = f"BANK line says {nchan}, file has {table.shape[0]}"
    x = table[:, 0] / 100.0
    sigma = table[:, 2] if ncol == 3 else None
    return make_pattern(x, table[:, 1], sigma, path=path, name=name, metadata=meta, where=where)


def _start_step(tok: list[str], label: str, line: str) -> tuple[float, float]:
    if len(tok) < 7:
        raise FormatError(f"{label}: CONST needs start and step: {line.strip()[:60]!r}")
    start, step = opt_float(tok[5], -1e5, 1e5), opt_float(tok[6], -1e5, 1e5)
    if start is None or step is None:
        raise FormatError(f"{label}: start/step are not numbers: {line.strip()[:60]!r}")
    if step <= 0:
        raise FormatError(f"{label}: step {tok[6][:20]} centidegrees is not positive")
    return start / 100.0, step / 100.0
