"""Shared helpers of the pattern readers: errors, checked construction, text, numbers, zip.

Limits (stated once, enforced here)
-----------------------------------
* A pattern file is read whole; files above :data:`MAX_FILE_BYTES` are refused.
* A zip member is read only up to :data:`MAX_MEMBER_BYTES` of uncompressed data, and
  only with a compression method the standard library supports; an archive with more
  than :data:`MAX_MEMBERS` members is refused (zip bombs, damaged directories).
* Radiation stated by a file must lie in 0.05–5 Å (wavelengths) and 0–1 (Kα2/Kα1
  ratio); 2θ must lie in (0°, 180°).
"""

from __future__ import annotations

import codecs
import lzma
import re
import struct
import warnings
import zipfile
import zlib
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError, InputWarning

MAX_FILE_BYTES = 512 * 2**20
MAX_MEMBER_BYTES = 256 * 2**20
MAX_MEMBERS = 10_000
WAVELENGTH_RANGE = (0.05, 5.0)  # Å: from hard synchrotron to the softest lab anode (Cr Kα 2.29)

#: A decimal number, matched without backtracking (possessive quantifiers, Python ≥ 3.11).
NUMBER = re.compile(r"[+-]?+(?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][+-]?+\d++)?+")

#: Errors a damaged zip member can raise from the standard library's decompressors.
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, OSError,
              EOFError, NotImplementedError, RuntimeError, ValueError, KeyError, struct.error)


class FormatError(Exception):
    """A file does not follow its format; the message says what and where (no file name).

    ``variant`` (e.g. ``"v4"``, ``"STD"``) is appended to the format's title in
    the message that reaches the user.
    """

    def __init__(self, message: str, variant: str | None = None) -> None:
        super().__init__(message)
        self.variant = variant


def warn(meta: dict[str, Any], text: str) -> None:
    """Record ``text`` in ``meta['warnings']`` and emit it as an :class:`InputWarning`."""
    meta.setdefault("warnings", []).append(text)
    warnings.warn(text, InputWarning, stacklevel=3)


# -- construction --------------------------------------------------------------------------


def make_pattern(
    x: np.ndarray,
    y: np.ndarray,
    sigma: np.ndarray | None = None,
    *,
    path: Path,
    name: str = "",
    wavelength: float | None = None,
    wavelength2: float | None = None,
    ratio: float | None = None,
    metadata: dict[str, Any] | None = None,
    esd_in_file: bool | None = None,
    where: str = "",
) -> Pattern:
    """Check intensities and 2θ and build a :class:`Pattern` (``source`` = ``path``).

    Parameters
    ----------
    esd_in_file
        Whether the file itself gives standard uncertainties; negative
        intensities are accepted only then (background-subtracted data with
        esds).  Defaults to ``sigma is not None``.
    where
        Prefix for messages, e.g. ``"bank 2: "`` or ``"scan 1: "``.

    Raises
    ------
    FormatError
        NaN or infinite values, negative esds, negative counts without esds, 2θ
        outside (0°, 180°).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if esd_in_file is None:
        esd_in_file = sigma is not None
    if x.shape == y.shape:
        for arr, what in ((x, "2θ value"), (y, "count")):
            bad = ~np.isfinite(arr)
            if bad.any():
                i = int(np.argmax(bad))
                raise FormatError(f"{where}NaN or infinite {what} at point {i + 1}")
        out = (x <= 0) | (x >= 180)
        if out.any():
            i = int(np.argmax(out))
            raise FormatError(f"{where}2θ = {x[i]:.6g}° at point {i + 1} is outside (0°, 180°)")
        if sigma is not None:
            bad = ~(np.isfinite(sigma) & (np.asarray(sigma) >= 0))
            if bad.any():
                i = int(np.argmax(bad))
                raise FormatError(f"{where}esd {sigma[i]:g} at point {i + 1} is not a number ≥ 0")
        if not esd_in_file and np.any(y < 0):
            i = int(np.argmax(y < 0))
            raise FormatError(
                f"{where}negative counts ({y[i]:g} at 2θ = {x[i]:g}) in a file without esds"
            )
    try:
        return Pattern(
            x=x,
            y=y,
            sigma=sigma,
            wavelength=wavelength,
            wavelength2=wavelength2,
            ratio=ratio,
            name=name,
            source=str(path),
            metadata=_finite_metadata(metadata or {}),
        )
    except InputError as err:  # Pattern's own checks: re-raise with the format context
        raise FormatError(f"{where}{err.message}") from None


def _finite_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` without NaN or infinite numbers (a damaged header field says nothing)."""
    return {k: v for k, v in meta.items()
            if not (isinstance(v, float) and not np.isfinite(v))}


def radiation(
    a1: float | None, a2: float | None, ratio: float | None, *, where: str = "",
    names: tuple[str, str, str] = ("Kα1 wavelength", "Kα2 wavelength", "Kα2/Kα1 ratio"),
    zero_is_unset: bool = False,
) -> dict[str, float | None]:
    """Checked ``wavelength``, ``wavelength2`` and ``ratio`` keyword arguments of a Pattern.

    A stated wavelength must be finite and within :data:`WAVELENGTH_RANGE`; a stated
    ratio within [0, 1].  A Kα2 of 0 (or equal to Kα1) means "no second line", and
    its ratio is then ignored.  ``zero_is_unset``: a Kα1 of 0 means "not stated"
    (binary headers whose unused fields are zero), instead of an error.

    Raises
    ------
    FormatError
        Naming the field (``names``) and its value.
    """
    lo, hi = WAVELENGTH_RANGE
    if a1 is not None and a1 == 0 and zero_is_unset:
        a1 = None
    for v, label in ((a1, names[0]), (a2, names[1])):
        if v is None or (label == names[1] and v == 0):
            continue
        if not (np.isfinite(v) and lo <= v <= hi):
            raise FormatError(f"{where}{label} {v:.6g} Å is outside {lo:g}–{hi:g} Å")
    second = a2 is not None and a2 != 0 and a2 != a1
    if second and ratio is not None and not (np.isfinite(ratio) and 0 <= ratio <= 1):
        raise FormatError(f"{where}{names[2]} {ratio:.6g} is outside 0–1")
    return {"wavelength": a1, "wavelength2": a2 if second else None,
            "ratio": ratio if second else None}


# -- text ----------------------------------------------------------------------------------

_TIME_FORMATS = ("%b %d, %Y %H:%M:%S.%f", "%b %d, %Y %H:%M:%S", "%Y/%m/%d %H:%M:%S",
                 "%m/%d/%Y %H:%M:%S")


def iso_time(text: str | None, formats: tuple[str, ...] = ()) -> str | None:
    """A date/time as ISO 8601 (``2011-04-25T12:35:45.325926``), or None if not one.

    Formats tried: ISO 8601 itself (``datetime.fromisoformat``), ``APR 25, 2011
    12:35:45.3`` (APS 11-BM), ``2011/04/25 12:35:45``, ``04/25/2011 12:35:45``, then
    ``formats`` (e.g. a two-digit year where a format's documentation fixes the order).
    """
    from datetime import datetime

    if not text:
        return None
    s = " ".join(text.split())[:60]
    try:
        return datetime.fromisoformat(s).isoformat()
    except ValueError:
        pass
    for fmt in _TIME_FORMATS + formats:
        try:
            return datetime.strptime(s.title() if "%b" in fmt else s, fmt).isoformat()
        except ValueError:
            continue
    return None



def decode_text(data: bytes) -> str:
    """Text of a file: UTF-16 (by BOM or by its zero bytes), else UTF-8 (a BOM is
    dropped), else Latin-1 (never fails: free text such as a title with "ü" is kept).

    Raises
    ------
    FormatError
        UTF-16 text that does not decode (cut in the middle of a character).
    """
    return decode(data)[0]


def decode(data: bytes) -> tuple[str, str]:
    """:func:`decode_text` and the encoding used (``'utf-8'``, ``'utf-8-sig'``,
    ``'latin-1'`` or a UTF-16 name)."""
    enc = utf16_encoding(data)
    if enc is not None:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as err:
            raise FormatError(f"damaged UTF-16 text at byte {err.start}") from None
        return (text[1:] if text.startswith("\ufeff") else text), enc
    sig = data.startswith(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8-sig" if sig else "utf-8"), "utf-8-sig" if sig else "utf-8"
    except UnicodeDecodeError:
        return data[3 if sig else 0:].decode("latin-1"), "latin-1"


def utf16_encoding(data: bytes) -> str | None:
    """``'utf-16'`` (with BOM), ``'utf-16-le'``/``'utf-16-be'`` (without), or None.

    Without a BOM, text is taken as UTF-16 when nearly every other byte of its
    start is zero (ASCII characters in UTF-16) and the others are not.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:512]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.9 and zeros_even < 0.1:
        return "utf-16-le"
    if zeros_even > 0.9 and zeros_odd < 0.1:
        return "utf-16-be"
    return None


def to_float(text: str | None, what: str, lo: float = -np.inf, hi: float = np.inf) -> float:
    """A decimal number from ``text`` within [lo, hi]; a FormatError naming ``what`` else.

    Only plain decimal notation is accepted (no ``nan``, ``inf``, ``1_000`` or hex).
    """
    if text is None or not text.strip():
        raise FormatError(f"{what} is missing")
    s = text.strip()
    if len(s) > 40 or not NUMBER.fullmatch(s):
        raise FormatError(f"{what} is not a number ({s[:30]!r})")
    v = float(s)
    if not (np.isfinite(v) and lo <= v <= hi):
        raise FormatError(f"{what} {s[:30]} is outside {lo:g}–{hi:g}")
    return v


def opt_float(text: str | None, lo: float = -np.inf, hi: float = np.inf) -> float | None:
    """A decimal number within [lo, hi], or None if ``text`` is absent, not a number or
    out of range (for optional header items that only go to the metadata)."""
    if text is None:
        return None
    s = text.strip()
    if len(s) > 40 or not NUMBER.fullmatch(s):
        return None
    v = float(s)
    return v if np.isfinite(v) and lo <= v <= hi else None


def numbers(text: str, what: str) -> np.ndarray:
    """Whitespace-separated numbers of ``text`` as a 1-D array, in linear time.

    numpy's C parser reads the whole text (memory: the text plus the result); text
    it cannot read is gone through token by token to name the first bad value.
    ``nan``/``inf`` are read as such and refused later with their position.
    """
    if not text.strip():  # numpy reads blank text as [-1.0]
        return np.empty(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:  # bytes: numpy would otherwise encode the text itself, more slowly
            return np.fromstring(text.encode("utf-8", "replace"), sep=" ")
        except (ValueError, DeprecationWarning):
            pass
    for i, tok in enumerate(text.split(), start=1):
        if not _is_number(tok):
            raise FormatError(f"{what}: value {i} is not a number ({tok[:30]!r})")
    raise FormatError(f"{what}: not numeric")


def parse_table(body: str, ncol: int, what: str, first_line: int = 1) -> np.ndarray:
    """Numbers of ``body``, ``ncol`` per non-blank line, as an (n, ncol) array.

    numpy's C reader (``loadtxt``, chunked: memory is the text plus the result)
    reads it in time linear in its size; a body it refuses is gone through line by
    line to name the first line with another number of values or a value that is
    not a number (``first_line`` is the file's number of the first line of ``body``).
    """
    raw = BytesIO(body.encode("utf-8", "replace"))  # bytes: a StringIO costs 4× the text
    table = load_table(raw)
    if table is not None and table.shape[0] and table.shape[1] == ncol:
        return table
    for i, line in enumerate(body.splitlines(), start=first_line):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != ncol:
            raise FormatError(f"{what}line {i} has {len(fields)} value(s), {ncol} expected: "
                              f"{line.strip()[:40]!r}")
        if not all(_is_number(t) for t in fields):
            raise FormatError(f"{what}line {i} is not numeric: {line.strip()[:40]!r}")
    if table is not None and not table.shape[0]:
        raise FormatError(f"{what}no data lines")
    raise FormatError(f"{what}data are not a table of {ncol} numbers per line")


def load_table(stream: Any, delimiter: str | None = None,
               comments: list[str] | None = None) -> np.ndarray | None:
    """``numpy.loadtxt`` of a binary stream from its current position (2-D), or None if
    numpy refuses it (the caller then names the bad line)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "input contained no data": the caller decides
        try:
            return np.loadtxt(stream, dtype=float, delimiter=delimiter, comments=comments,
                              ndmin=2, encoding="latin-1")
        except (ValueError, OverflowError, UnicodeError):
            return None


def _is_number(tok: str) -> bool:
    return len(tok) <= 40 and bool(NUMBER.fullmatch(tok) or tok.lower().lstrip("+-") in
                                   ("nan", "inf", "infinity"))


# -- binary --------------------------------------------------------------------------------


class Binary:
    """Little-endian reads at absolute offsets with errors that name the byte and the field."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def need(self, offset: int, size: int, what: str) -> None:
        """Raise unless ``size`` bytes exist at ``offset``."""
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise FormatError(
                f"file ends inside {what} (byte {offset + size} needed, file has {len(self.data)})"
            )

    def unpack(self, fmt: str, offset: int, what: str) -> Any:
        """One value of struct format ``fmt`` (little-endian) at ``offset``."""
        size = struct.calcsize("<" + fmt)
        self.need(offset, size, what)
        return struct.unpack_from("<" + fmt, self.data, offset)[0]

    def text(self, offset: int, size: int, what: str) -> str:
        """A NUL-padded Latin-1 string field."""
        self.need(offset, size, what)
        return self.data[offset : offset + size].split(b"\0", 1)[0].decode("latin-1").strip()

    def float32s(self, offset: int, count: int, what: str) -> np.ndarray:
        """``count`` little-endian float32 values from ``offset``."""
        self.need(offset, 4 * count, what)
        with np.errstate(invalid="ignore"):  # signalling NaNs are reported by make_pattern
            return np.frombuffer(self.data, dtype="<f4", count=count, offset=offset).astype(float)


# -- zip -----------------------------------------------------------------------------------


def open_zip(data: bytes) -> zipfile.ZipFile:
    """Open zip bytes; a damaged archive or one with too many members is a FormatError."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except ZIP_ERRORS as err:
        raise FormatError(f"not a readable zip archive ({_short(err)})") from None
    if len(archive.infolist()) > MAX_MEMBERS:
        raise FormatError(f"zip archive has {len(archive.infolist())} members "
                          f"(more than {MAX_MEMBERS})")
    return archive


def zip_member(archive: zipfile.ZipFile, name: str, limit: int | None = None) -> bytes:
    """Bytes of one member, at most ``limit`` (default :data:`MAX_MEMBER_BYTES`) of them;
    damage is a FormatError.

    The size is checked before and while decompressing (a directory entry can lie).
    """
    limit = MAX_MEMBER_BYTES if limit is None else limit
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise FormatError(f"zip archive has no member {name}") from None
    if info.file_size > limit:
        raise FormatError(f"zip member {name} is {info.file_size} bytes uncompressed "
                          f"(limit {limit})")
    try:
        with archive.open(info) as fh:
            data = fh.read(limit + 1)
    except ZIP_ERRORS as err:
        raise FormatError(f"zip member {name} is damaged ({_short(err)})") from None
    if len(data) > limit:
        raise FormatError(f"zip member {name} decompresses to more than {limit} bytes")
    return data


def parse_xml(data: bytes, what: str = "") -> Any:
    """The root element of an XML document; a FormatError on damage or an unknown encoding.

    expat (≥ 2.4) refuses entity-expansion bombs itself; external entities are not
    loaded by ElementTree.
    """
    import xml.etree.ElementTree as ET

    try:
        return ET.fromstring(data)
    except (ET.ParseError, LookupError, ValueError, UnicodeError) as err:
        raise FormatError(f"{what}corrupt XML ({_short(err)})") from None


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def local(tag: str) -> str:
    """XML tag without its namespace."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
