"""Shared helpers of the pattern readers: errors, checked construction, binary and zip access."""

from __future__ import annotations

import struct
import zipfile
import zlib
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError


class FormatError(Exception):
    """A file does not follow its format; the message says what and where (no file name).

    ``variant`` (e.g. ``"v4"``, ``"STD"``) is appended to the format's title in
    the message that reaches the user.
    """

    def __init__(self, message: str, variant: str | None = None) -> None:
        super().__init__(message)
        self.variant = variant


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
    """Check intensities and build a :class:`Pattern` (``source`` = ``path``).

    Parameters
    ----------
    esd_in_file
        Whether the file itself gives standard uncertainties; negative
        intensities are accepted only then (background-subtracted data with
        esds).  Defaults to ``sigma is not None``.
    where
        Prefix for messages, e.g. ``"bank 2: "`` or ``"scan 1: "``.
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
            metadata=dict(metadata or {}),
        )
    except InputError as err:  # Pattern's own checks: re-raise with the format context
        raise FormatError(f"{where}{err.message}") from None


def decode_text(data: bytes) -> str:
    """Text of a file: UTF-8 (a BOM is dropped), else Latin-1 (never fails)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def to_float(text: str | None, what: str) -> float:
    """``float(text)``, with a FormatError naming ``what`` if it is missing or not a number."""
    if text is None or not text.strip():
        raise FormatError(f"{what} is missing")
    try:
        return float(text)
    except ValueError:
        raise FormatError(f"{what} is not a number ({text.strip()[:30]!r})") from None


def floats(tokens: list[str], what: str) -> np.ndarray:
    """Array of floats from tokens; the first bad token is named in the error."""
    try:
        return np.array(tokens, dtype=float)
    except ValueError:
        for i, tok in enumerate(tokens):
            try:
                float(tok)
            except ValueError:
                raise FormatError(f"{what}: value {i + 1} is not a number ({tok[:30]!r})") from None
        raise FormatError(f"{what}: not numeric") from None


class Binary:
    """Little-endian reads at absolute offsets with errors that name the byte and the field."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def need(self, offset: int, size: int, what: str) -> None:
        """Raise unless ``size`` bytes exist at ``offset``."""
        if offset < 0 or offset + size > len(self.data):
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


def open_zip(data: bytes) -> zipfile.ZipFile:
    """Open zip bytes; a damaged archive is a FormatError."""
    try:
        return zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as err:
        raise FormatError(f"not a readable zip archive ({err})") from None


def zip_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """Bytes of one member; a missing or damaged member is a FormatError."""
    try:
        return archive.read(name)
    except KeyError:
        raise FormatError(f"zip archive has no member {name}") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError,
            RuntimeError, ValueError) as err:
        raise FormatError(f"zip member {name} is damaged ({err})") from None


def local(tag: str) -> str:
    """XML tag without its namespace."""
    return tag.rsplit("}", 1)[-1]
