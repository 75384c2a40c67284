"""Read measured powder patterns from the common laboratory formats.

One declarative registry (after ASE's ``ase/io/formats.py``): every format has a
name, a title used in messages, the file extensions it claims, a content
sniffer (magic bytes or the first lines, no reader imported) and the dotted
path of its reader, imported only when a file of that format is read.

:func:`read_pattern` sniffs the content first — a misnamed file is still read —
and falls back to the extension; it returns a list of
:class:`~xtal.diffraction.pattern.Pattern`, one per scan, range or bank.
:func:`read_one` returns the one pattern a refinement uses: ``PATH`` for a file
with one scan, ``PATH#N`` for scan N of several (scans are merged only where that is
meaningful, see :func:`merge_scans`).  A file that cannot be read raises
:class:`~xtal.errors.InputError` with one line naming the file, the format tried
and what is wrong; the sniffer runs inside the same error boundary as the readers.

What every reader guarantees
----------------------------
* 2θ in degrees, strictly increasing, inside (0°, 180°); radians stated by a header
  are converted; finite intensities; counts ≥ 0 unless the file gives esds.
* Wavelengths stated by a file lie in 0.05–5 Å and the Kα2/Kα1 ratio in 0–1, or the
  file is refused (a stated 0 or NaN never turns silently into Cu Kα1).
* Counts per second are turned into counts when the counting time per step is known
  (``metadata['intensity_unit']`` then says ``'counts'``, ``'count_time_s'`` gives the
  time); otherwise they are kept as cps, weighted as counts (right relative weights,
  χ² scaled by the unknown time) and a warning says so.
* Reading is linear in the file size; files over 512 MiB and zip members over
  256 MiB uncompressed are refused.  Peak memory above the interpreter's (measured
  by ``bench/readers.py``): ≈ 3.5× the file for column text (the bytes, the decoded
  text, the numbers), ≈ 5× for GSAS, ≈ 6–9× for the XML formats, whose files are
  compact (≈ 35 bytes per point for XRDML).

Metadata keys (``Pattern.metadata``, where the file states them)
-----------------------------------------------------------------
``format``            title of the format (``'GSAS powder data'``)
``temperature_K``     sample temperature in K (FXYE ``# Temp (K)``; XRDML
                      ``nonAmbientPoints type="Temperature"``, the mean of its values)
``temperature_setpoint_K``  controller set-point in K (11-BM FXYE ``# Scan Comment``)
``time``              start of the measurement, ISO 8601 (``2011-04-25T12:35:45``)
``count_time_s``      counting time per step, seconds
``intensity_unit``    ``'counts'`` or ``'cps'``
``radius_mm``         goniometer radius stated by the file (Bruker RAW, XRDML)
``scan``              number of the scan in its file (1-based)
``warnings``          what the reader warned about (also emitted as ``InputWarning``)

Examples
--------
>>> from xtal.io.patterns import read_pattern, read_one    # doctest: +SKIP
>>> [p] = read_pattern("PBSO4.XRA")                      # doctest: +SKIP
>>> p.x.size, p.x[0], p.step                             # doctest: +SKIP
(6000, 10.0, 0.025)
>>> read_one("two_scans.xrdml#2").name                   # doctest: +SKIP
'sample scan 2'
"""

from __future__ import annotations

import importlib
import lzma
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError

Sniffer = Callable[[bytes, Path], bool]

#: Bytes of the file start that sniffers see.
HEAD_SIZE = 4096


@dataclass(frozen=True)
class PatternFormat:
    """One entry of the registry.

    Attributes
    ----------
    name
        Short identifier (``"gsas"``), accepted by ``read_pattern(format=...)``.
    title
        Human name used in messages (``"GSAS powder data"``).
    extensions
        Lower-case extensions with the dot that this format claims.
    sniff
        ``sniff(head, path) -> bool``: does the content look like this format?
        ``head`` is the first :data:`HEAD_SIZE` bytes.
    reader
        ``"module:function"``; the function is ``read(data: bytes, path: Path)
        -> list[Pattern]`` and raises ``FormatError``.
    """

    name: str
    title: str
    extensions: tuple[str, ...]
    sniff: Sniffer
    reader: str

    def load(self) -> Callable[[bytes, Path], list[Pattern]]:
        """Import the reader (lazily, on first use)."""
        module, func = self.reader.split(":")
        return getattr(importlib.import_module(module), func)


# --- sniffers: cheap, content only, never import a reader -----------------------------------


def _text_head(head: bytes) -> str | None:
    """The head as text (UTF-16, UTF-8 with or without BOM, Latin-1), or None if binary."""
    from xtal.io.formats._common import utf16_encoding

    enc = utf16_encoding(head)
    if enc is not None:
        return head[: len(head) // 2 * 2].decode(enc, errors="replace").lstrip("\ufeff")
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if b"\0" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as err:  # a multi-byte character cut at HEAD_SIZE is fine
        if err.start >= len(head) - 4:
            return head[: err.start].decode("utf-8", errors="replace")
        return head.decode("latin-1")


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as z:
            return z.namelist()[:10_000]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError, KeyError, struct.error):
        return []


def _sniff_bruker_raw(head: bytes, path: Path) -> bool:
    if head.startswith((b"RAW1.01", b"RAW4.00")):
        return True
    # "RAW " / "RAW2" could begin a text title: require binary content as well
    return head.startswith((b"RAW2", b"RAW ")) and b"\0" in head[:256]


def _sniff_brml(head: bytes, path: Path) -> bool:
    if not head.startswith(b"PK\x03\x04"):
        return False
    from xtal.io.formats.brml import RAWDATA  # tiny module-level regex; no parsing

    return any(RAWDATA.search(n) for n in _zip_names(path))


def _sniff_rasx(head: bytes, path: Path) -> bool:
    if not head.startswith(b"PK\x03\x04"):
        return False
    return any(n.startswith("Data") and "/Profile" in n for n in _zip_names(path))


def _sniff_xrdml(head: bytes, path: Path) -> bool:
    return b"<xrdMeasurements" in head or b"www.xrdml.com" in head


def _sniff_ras(head: bytes, path: Path) -> bool:
    text = _text_head(head)
    return text is not None and ("*RAS_DATA_START" in text or "*RAS_HEADER_START" in text)


def _sniff_gsas(head: bytes, path: Path) -> bool:
    text = _text_head(head)
    if text is None:
        return False
    from xtal.io.formats.gsas import has_bank_line

    return has_bank_line(text)


def _sniff_columns(head: bytes, path: Path) -> bool:
    text = _text_head(head)
    if text is None:
        return False
    from xtal.io.formats.text import looks_like_columns

    return looks_like_columns(text)


#: The registry, in sniffing order (most specific first).
FORMATS: dict[str, PatternFormat] = {}


def register_format(fmt: PatternFormat) -> None:
    """Add (or replace) a format; new formats are sniffed before the column-text fallback."""
    items = [f for f in FORMATS.values() if f.name != fmt.name]
    fallback = [f for f in items if f.name == "columns"]
    items = [f for f in items if f.name != "columns"] + [fmt] + fallback
    FORMATS.clear()
    FORMATS.update((f.name, f) for f in items)


for _fmt in (
    PatternFormat("bruker_raw", "Bruker RAW", (".raw",), _sniff_bruker_raw,
                  "xtal.io.formats.bruker:read"),
    PatternFormat("brml", "Bruker BRML", (".brml",), _sniff_brml, "xtal.io.formats.brml:read"),
    PatternFormat("rasx", "Rigaku RASX", (".rasx",), _sniff_rasx,
                  "xtal.io.formats.rigaku:read_rasx"),
    PatternFormat("xrdml", "PANalytical XRDML", (".xrdml",), _sniff_xrdml,
                  "xtal.io.formats.xrdml:read"),
    PatternFormat("ras", "Rigaku RAS", (".ras",), _sniff_ras, "xtal.io.formats.rigaku:read_ras"),
    PatternFormat("gsas", "GSAS powder data",
                  (".gsa", ".gsas", ".gss", ".gda", ".xra", ".fxye", ".fxy", ".std", ".esd"),
                  _sniff_gsas, "xtal.io.formats.gsas:read"),
    PatternFormat("columns", "column text (2θ, I[, esd])",
                  (".xy", ".xye", ".dat", ".txt", ".csv", ".asc", ".xys", ".tsv"),
                  _sniff_columns, "xtal.io.formats.text:read"),
):
    register_format(_fmt)


def guess_format(path: str | PathLike[str], head: bytes | None = None) -> PatternFormat | None:
    """The format of a file: by content first, else by extension; None if neither matches."""
    p = Path(path)
    if head is None:
        try:
            with open(p, "rb") as fh:
                head = fh.read(HEAD_SIZE)
        except OSError as err:
            raise InputError(f"cannot read file ({err.strerror or err})", p) from None
    if head:
        for fmt in FORMATS.values():
            if fmt.sniff(head, p):
                return fmt
    ext = p.suffix.lower()
    return next((f for f in FORMATS.values() if ext in f.extensions), None)


#: Exceptions a reader may let slip on a damaged file; reported as InputError, never a traceback.
_DAMAGE = (ValueError, LookupError, ArithmeticError, struct.error, zipfile.BadZipFile,
           zipfile.LargeZipFile, zlib.error, lzma.LZMAError, EOFError, ET.ParseError,
           UnicodeError, NotImplementedError, RecursionError, MemoryError, OSError)


def read_pattern(path: str | PathLike[str], format: str | None = None) -> list[Pattern]:
    """Read every scan of a measured powder pattern file.

    Parameters
    ----------
    path
        The file.  Its content decides the format (magic bytes, first lines);
        the extension is used only when the content matches no format.
    format
        Force a registry entry by name (see :data:`FORMATS`) instead of guessing.

    Returns
    -------
    list of Pattern
        One per scan, range or bank, in file order; ``x`` is 2θ in degrees,
        ``source`` is ``str(path)``.

    Raises
    ------
    InputError
        One line: the file, the format tried and what is wrong; or, for an
        unrecognised file, the formats tried.
    """
    from xtal.io.formats._common import MAX_FILE_BYTES
    from xtal.util.files import read_bounded

    p = Path(path)
    if not p.exists():
        raise InputError("file not found", p)
    if p.is_dir():
        raise InputError("is a directory, not a pattern file", p)
    data = read_bounded(p, MAX_FILE_BYTES, "pattern")
    if format is not None and format not in FORMATS:
        raise InputError(f"unknown pattern format {format!r} (known: {', '.join(FORMATS)})", p)
    title = FORMATS[format].title if format else "pattern file"
    try:
        fmt = FORMATS[format] if format else guess_format(p, data[:HEAD_SIZE])
        if fmt is None:
            tried = ", ".join(f.title for f in FORMATS.values())
            what = "file is empty" if not data else "content matches no pattern format"
            raise InputError(
                f"{what} and extension {p.suffix or '(none)'!r} is not registered "
                f"(tried: {tried})", p)
        title = fmt.title
        if not data:
            raise InputError(f"{fmt.title}: file is empty", p)
        patterns = _read(fmt, data, p)
    except InputError:
        raise
    except _DAMAGE as err:  # a reader missed a check: still one line, never a traceback
        raise InputError(f"{title}: unreadable content ({type(err).__name__}: {err})",
                         p) from None
    for k, pat in enumerate(patterns, start=1):
        pat.metadata.setdefault("format", fmt.title)
        pat.metadata.setdefault("scan", k)
    return patterns


def _read(fmt: PatternFormat, data: bytes, p: Path) -> list[Pattern]:
    from xtal.io.formats._common import FormatError

    try:
        patterns = fmt.load()(data, p)
    except FormatError as err:
        title = f"{fmt.title} {err.variant}" if err.variant else fmt.title
        raise InputError(f"{title}: {err}", p) from None
    except InputError as err:
        raise InputError(f"{fmt.title}: {err.message}", p) from None
    if not patterns:
        raise InputError(f"{fmt.title}: no pattern in the file", p)
    return patterns


def split_spec(spec: str | PathLike[str]) -> tuple[Path, int | None]:
    """``'PATH#N'`` → (PATH, N); a path that exists as given, or has no ``#N``, → (path, None)."""
    p = Path(spec)
    text = str(spec)
    if p.exists() or "#" not in text:
        return p, None
    head, _, tail = text.rpartition("#")
    if not tail.isdigit() or len(tail) > 6:
        raise InputError(f"'#{tail[:20]}' does not select a scan; use PATH#N with N = 1, 2, …",
                         head or text)
    return Path(head), int(tail)


def read_one(spec: str | PathLike[str], format: str | None = None) -> Pattern:
    """The one pattern of ``spec``: ``PATH`` or ``PATH#N`` (scan N, counted from 1).

    A file with several scans, ranges or banks and no ``#N`` gives their merge when
    :func:`~xtal.io.formats.scans.merge_scans` finds it meaningful (same radiation,
    units and counting time; ranges side by side, or repeats of one range); otherwise
    it is refused with one line listing the scans, so that nothing is refined on the
    first scan without a word.

    Raises
    ------
    InputError
        Unreadable file; N out of range; several scans that cannot be merged.
    """
    from xtal.io.formats.scans import choose_scan

    path, number = split_spec(spec)
    return choose_scan(read_pattern(path, format=format), number, path)


__all__ = ["FORMATS", "PatternFormat", "guess_format", "read_one", "read_pattern",
           "register_format", "split_spec"]
