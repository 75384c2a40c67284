"""Safe input and output: bounded reads, atomic writes, no silent overwrites.

Every input file is read whole only below a size limit (:func:`read_bounded`).  Every
output file is written to a temporary file in the same directory and moved
into place with :func:`os.replace`, so a crash never leaves half a file behind and
an input is never modified.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from xtal.errors import InputError


def check_writable(path: str | os.PathLike[str], force: bool = False) -> Path:
    """Refuse to overwrite an existing file unless ``force``; return the path."""
    p = Path(path)
    if p.exists() and not force:
        raise InputError("output file exists; use --force to overwrite it", p)
    if p.exists() and p.is_dir():
        raise InputError("output path is a directory", p)
    if not p.parent.exists():
        raise InputError("directory of the output file does not exist", p)
    return p


def atomic_write(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + rename)."""
    return atomic_write_with(
        path, lambda tmp: Path(tmp).write_bytes(data.encode() if isinstance(data, str) else data)
    )


def atomic_write_with(path: str | os.PathLike[str], writer: Callable[[str], object]) -> Path:
    """Call ``writer(tmp_path)`` then move the temporary file onto ``path``.

    The temporary name keeps the suffix of ``path`` so that writers that infer a
    format from the name (matplotlib's ``savefig``) do the right thing.
    """
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=p.suffix, dir=p.parent or ".")
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p


def read_bounded(path: Path, max_bytes: int, kind: str) -> bytes:
    """The bytes of ``path``, refused in one line if it holds more than ``max_bytes``.

    ``kind`` names the files in the message ("CIF", "pattern"); the reader checks
    beforehand that ``path`` is a file, with its own wording.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"file is {size} bytes; {kind} files over {max_bytes} bytes are "
                             "not read", path)
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read file ({err.strerror or err})", path) from None
