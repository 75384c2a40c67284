"""Read measured powder patterns from the common laboratory formats.

One declarative registry (after ASE's ``ase/io/formats.py``): every format has a
name, a title used in messages, the file extensions it claims, a content
sniffer (magic bytes or the first lines, no reader imported) and the dotted
path of its reader, imported only when a file of that format is read.

:func:`read_pattern` sniffs the content first — a misnamed file is still read —
and falls back to the extension; it returns a list of
:class:`~xtal.diffraction.pattern.Pattern`, one per scan, range or bank.  A
file that cannot be read raises :class:`~xtal.errors.InputError` with one line
naming the file, the format tried and what is wrong.

Examples
--------
>>> from xtal.io.patterns import read_pattern          # doctest: +SKIP
>>> [p] = read_pattern("PBSO4.XRA")                      # doctest: +SKIP
>>> p.x.size, p.x[0], p.step                             # doctest: +SKIP
(6000, 10.0, 0.025)
"""

from __future__ import annotations

import importlib
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
    """The head as text, or None if it looks binary."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if b"\0" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as err:  # a multi-byte character cut at HEAD_SIZE is fine
        if err.start >= len(head) - 4:
            return head[: err.start].decode("utf-8")
        return head.decode("latin-1")


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as z:
            return z.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
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
           zlib.error, EOFError, ET.ParseError, UnicodeError, MemoryError)


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
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", p)
    if p.is_dir():
        raise InputError("is a directory, not a pattern file", p)
    try:
        data = p.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read file ({err.strerror or err})", p) from None
    if format is not None:
        if format not in FORMATS:
            raise InputError(f"unknown pattern format {format!r} (known: {', '.join(FORMATS)})", p)
        fmt: PatternFormat | None = FORMATS[format]
    else:
        fmt = guess_format(p, data[:HEAD_SIZE])
    if fmt is None:
        tried = ", ".join(f.title for f in FORMATS.values())
        what = "file is empty" if not data else "content matches no pattern format"
        raise InputError(
            f"{what} and extension {p.suffix or '(none)'!r} is not registered (tried: {tried})", p
        )
    if not data:
        raise InputError(f"{fmt.title}: file is empty", p)
    from xtal.io.formats._common import FormatError

    try:
        patterns = fmt.load()(data, p)
    except FormatError as err:
        title = f"{fmt.title} {err.variant}" if err.variant else fmt.title
        raise InputError(f"{title}: {err}", p) from None
    except InputError as err:
        raise InputError(f"{fmt.title}: {err.message}", p) from None
    except _DAMAGE as err:  # a reader missed a check: still one line, never a traceback
        raise InputError(f"{fmt.title}: unreadable content ({type(err).__name__}: {err})",
                         p) from None
    if not patterns:
        raise InputError(f"{fmt.title}: no pattern in the file", p)
    for pat in patterns:
        pat.metadata.setdefault("format", fmt.title)
    return patterns


__all__ = ["FORMATS", "PatternFormat", "guess_format", "read_pattern", "register_format"]
