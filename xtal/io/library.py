"""Structures by name: the CIFs shipped with xtal and the ones a user registers.

* Shipped: ``structures/`` of the source tree, installed as the package data of
  ``xtal.structures``; names ``Na3BS3-trigonal``, ``Na2S``, ``Na3PS4-tetragonal``.
* Registered: copies of user CIFs under ``<data dir>/structures/<name>.cif`` with an
  index ``index.json`` (original path, date added, sha256, provenance).  The data dir
  is :func:`xtal.util.dirs.user_data_dir` (platformdirs' answer) unless the variable
  ``XTAL_DATA_DIR`` says otherwise.  Files are written atomically
  (:mod:`xtal.util.files`), so the directory never holds half a file.
* ``Na3BS3-monoclinic`` (ICSD 411608) is licensed data and is never shipped: it can
  only be registered, and only a CIF that passes :func:`validate_na3bs3_monoclinic`.

Names are case-insensitive; the phase gets the canonical spelling as its name, which
is usable in parameter dot-paths.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from xtal.crystal.phase import Phase
from xtal.errors import InputError

DATA_DIR_ENV = "XTAL_DATA_DIR"
CIF_SUFFIXES = (".cif", ".mcif")

#: canonical name → file in structures/
SHIPPED: dict[str, str] = {
    "Na3BS3-trigonal": "Na3BS3_trigonal_P3.cif",
    "Na2S": "Na2S_antifluorite.cif",
    "Na3PS4-tetragonal": "Na3PS4_tetragonal_P-421c.cif",
}
MONOCLINIC = "Na3BS3-monoclinic"
_NOT_SHIPPED = {
    MONOCLINIC.lower(): (
        f"structure '{MONOCLINIC}' is not shipped: the ICSD 411608 coordinates are licensed;"
        f" register your own CIF with `xtal structures add FILE.cif --name {MONOCLINIC}`"
    )
}
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+\-]{0,63}$")

#: A check a CIF must pass to be registered: raises InputError naming the file.
Validator = Callable[[Phase, Path], None]


@dataclass(frozen=True)
class StructureInfo:
    """One entry of :func:`list_structures`.

    Attributes
    ----------
    name
        Canonical name (use it with :func:`load_phase`).
    kind
        ``'shipped'`` or ``'registered'``.
    path
        Where the CIF is.
    provenance
        Provenance text (first line first).
    added, sha256, original_path
        Registration record (registered structures only).
    """

    name: str
    kind: str
    path: Path
    provenance: str
    added: str | None = None
    sha256: str | None = None
    original_path: str | None = None


# -- locations -----------------------------------------------------------------------------
def data_dir() -> Path:
    """The user data directory (``$XTAL_DATA_DIR`` or :func:`xtal.util.dirs.user_data_dir`)."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    from xtal.util.dirs import user_data_dir

    return user_data_dir()


def registry_dir() -> Path:
    """Directory of registered CIFs and their ``index.json``."""
    return data_dir() / "structures"


def shipped_path(name: str) -> Path:
    """Path of a shipped CIF, by canonical name."""
    fname = SHIPPED[name]
    try:
        p = Path(str(resources.files("xtal.structures") / fname))
        if p.is_file():
            return p
    except ModuleNotFoundError:
        pass
    # source checkout without the xtal/structures link
    p = Path(__file__).resolve().parents[2] / "structures" / fname
    if not p.is_file():
        raise InputError(f"shipped structure '{name}' is missing from this installation", p)
    return p


# -- loading -------------------------------------------------------------------------------
def load_phase(name_or_path: str | os.PathLike[str], name: str | None = None) -> Phase:
    """A phase from a CIF path or a shipped/registered structure name.

    Parameters
    ----------
    name_or_path
        Path to a CIF (``.cif``/``.mcif``, or any existing file), or a structure name
        (case-insensitive): ``'Na3BS3-trigonal'``, ``'Na2S'``, ``'Na3PS4-tetragonal'``,
        a registered name such as ``'Na3BS3-monoclinic'``.
    name
        Phase name to use instead of the default.
    """
    from xtal.io.cif import read_cif

    if _looks_like_path(name_or_path):
        return read_cif(name_or_path, name=name)
    key = str(name_or_path).strip()
    canonical = _shipped_name(key)
    if canonical is not None:
        return read_cif(shipped_path(canonical), name=name or canonical)
    entry = _read_index().get(key.lower())
    if entry is not None:
        path = registry_dir() / entry["file"]
        phase = read_cif(path, name=name or entry["name"])
        record = (
            f"registered as {entry['name']} on {entry['added']} from {entry['original_path']}"
            f" (sha256 {entry['sha256']})"
        )
        return replace(phase, provenance="\n".join(filter(None, [phase.provenance, record])))
    if key.lower() in _NOT_SHIPPED:
        raise InputError(_NOT_SHIPPED[key.lower()])
    known = ", ".join([*SHIPPED, *(e["name"] for e in _read_index().values())])
    raise InputError(f"unknown structure '{key}' (known: {known}); or give the path of a CIF file")


def list_structures() -> list[StructureInfo]:
    """Shipped and registered structures, with their provenance."""
    out = []
    for name in SHIPPED:
        p = shipped_path(name)
        out.append(StructureInfo(name, "shipped", p, _cif_provenance(p)))
    for e in sorted(_read_index().values(), key=lambda e: e["name"].lower()):
        out.append(
            StructureInfo(
                e["name"],
                "registered",
                registry_dir() / e["file"],
                e.get("provenance", ""),
                added=e.get("added"),
                sha256=e.get("sha256"),
                original_path=e.get("original_path"),
            )
        )
    return out


# -- registration --------------------------------------------------------------------------
def register_structure(
    path: str | os.PathLike[str], name: str, force: bool = False,
    validate: Validator | None = None,
) -> StructureInfo:
    """Validate a CIF and copy it into the user's structure registry.

    Parameters
    ----------
    path
        The CIF to register (it is copied byte for byte; the original is not touched).
    name
        Name to load it by.
    force
        Replace an existing registration of the same name.
    validate
        Called with the phase read from ``path`` (and the path) before anything is
        written; without it a readable CIF is enough.

    Raises
    ------
    InputError
        Unreadable CIF, failed validation, a shipped name, or an existing
        registration without ``force``.
    """
    from xtal.io.cif import read_cif
    from xtal.util.files import atomic_write

    src = Path(path)
    name = name.strip()
    if not _NAME_OK.match(name):
        raise InputError(
            f"structure name '{name}' must start with a letter or digit and contain only"
            " letters, digits, '-', '_' or '+'"
        )
    if _shipped_name(name) is not None:
        raise InputError(f"'{name}' is the name of a shipped structure; choose another name")
    phase = read_cif(src, name=name)
    if validate is not None:
        validate(phase, src)
    index = _read_index()
    old = index.get(name.lower())
    if old is not None and not force:
        raise InputError(
            f"structure '{old['name']}' is already registered (added {old['added']});"
            " use --force to replace it"
        )
    data = src.read_bytes()
    folder = registry_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the structure registry ({exc.strerror})", folder) from None
    fname = f"{name}.cif"
    atomic_write(folder / fname, data)
    entry = {
        "name": name,
        "file": fname,
        "original_path": str(src.resolve()),
        "added": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "sha256": hashlib.sha256(data).hexdigest(),
        "provenance": phase.provenance,
    }
    index[name.lower()] = entry
    atomic_write(_index_path(), json.dumps({"structures": index}, indent=2, sort_keys=True) + "\n")
    if old is not None and old["file"] != fname:
        (folder / old["file"]).unlink(missing_ok=True)
    return StructureInfo(
        name,
        "registered",
        folder / fname,
        phase.provenance,
        added=entry["added"],
        sha256=entry["sha256"],
        original_path=entry["original_path"],
    )


# -- helpers -------------------------------------------------------------------------------
def _looks_like_path(x: str | os.PathLike[str]) -> bool:
    if isinstance(x, os.PathLike):
        return True
    s = str(x)
    base = s.rpartition("#")[0] or s  # 'file.cif#BLOCK' chooses a data block
    return (base.lower().endswith(CIF_SUFFIXES) or "/" in s or os.sep in s
            or Path(s).is_file())


def _shipped_name(name: str) -> str | None:
    return next((n for n in SHIPPED if n.lower() == name.lower()), None)


def _index_path() -> Path:
    return registry_dir() / "index.json"


def _read_index() -> dict[str, dict]:
    p = _index_path()
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        entries = data["structures"]
        return {k: dict(v) for k, v in entries.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"structure index is unreadable ({type(exc).__name__})", p) from None


def _cif_provenance(path: Path) -> str:
    lines = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            s = raw.strip()
            if not s.startswith("#"):
                break
            if s.strip("#").strip():
                lines.append(s.strip("#").strip())
    return "\n".join(lines)
