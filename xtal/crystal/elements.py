"""Element data from xraydb — symbols, molar masses, f0, f′, f″ — kept in a small disk cache.

xraydb (Newville, https://xraypy.github.io/XrayDB/) is the source of every number
here, but importing it costs about 0.4 s (SQLAlchemy, scipy.interpolate), more than
half of a PbSO4 refinement.  The values xtal asks for are therefore cached in one
JSON file, so that a later process needs no xraydb import at all:

* element symbols Z = 1–98 and molar masses (g/mol), xraydb's ``elements`` table;
* the Waasmaier–Kirfel coefficients (Acta Cryst. A51, 416, 1995) of every neutral
  atom, from which :func:`f0` evaluates f0(s) = c + Σᵢ aᵢ exp(−bᵢ s²), s = sinθ/λ
  in Å⁻¹, with the same floating-point operations, in the same order, as
  ``xraydb.f0`` (bit-identical: ``tests/test_elements.py``);
* f′ and f″ (Chantler tables) at each photon energy asked for, as ``xraydb.f1_chantler``
  / ``xraydb.f2_chantler`` return them.

The functions take the arguments of their xraydb namesakes; anything the cache does
not hold (an ion, an array of energies, an unknown symbol) is passed to xraydb
itself, so its answers and its errors are unchanged.  The cache is one file per
installed xraydb (keyed by the location, size and time of its code and database) in
``$XTAL_CACHE_DIR`` or the user cache directory (:func:`xtal.util.dirs.user_cache_dir`);
it is written atomically, and a directory that cannot be written only means no cache.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

CACHE_ENV = "XTAL_CACHE_DIR"
_N_ELEMENTS = 98  # H … Cf: the range of xraydb's Waasmaier–Kirfel table
_SCHEMA = 1


# -- the public functions (xraydb's signatures) ------------------------------------------------
def atomic_symbol(z: int) -> str:
    """Element symbol of atomic number ``z`` (``xraydb.atomic_symbol``)."""
    symbols = _tables()["symbols"]
    if isinstance(z, int | np.integer) and 1 <= z <= len(symbols):
        return symbols[int(z) - 1]
    return _xraydb().atomic_symbol(z)


def atomic_mass(element: str | int) -> float:
    """Molar mass (g/mol) of an element (``xraydb.atomic_mass``)."""
    mass = _tables()["mass"].get(element.title()) if isinstance(element, str) else None
    return mass if mass is not None else _xraydb().atomic_mass(element)


def f0(ion: str | int, q: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """Non-resonant f0(s) of a neutral atom, s = ``q`` = sinθ/λ (Å⁻¹) (``xraydb.f0``).

    Waasmaier & Kirfel (1995): f0 = c + Σᵢ aᵢ exp(−bᵢ s²).  Ions go to xraydb.
    """
    coeffs = _tables()["f0"].get(ion.title()) if isinstance(ion, str) else None
    if coeffs is None:
        return _xraydb().f0(ion, q)
    s = np.array([q]) if isinstance(q, float | int) else np.asarray(q)
    offset, scales, exponents = coeffs
    out = offset
    for a, b in zip(scales, exponents, strict=True):  # xraydb's order of summation
        out += a * np.exp(-b * s * s)
    return out


def f1_chantler(element: str | int, energy: float) -> float:
    """f′ (electrons) at photon energy ``energy`` (eV), Chantler (``xraydb.f1_chantler``)."""
    return _anomalous(element, energy, "f1")


def f2_chantler(element: str | int, energy: float) -> float:
    """f″ (electrons) at photon energy ``energy`` (eV), Chantler (``xraydb.f2_chantler``)."""
    return _anomalous(element, energy, "f2")


def cache_path() -> Path | None:
    """The cache file for the installed xraydb, or None if xraydb cannot be found."""
    key = _xraydb_key()
    if key is None:
        return None
    env = os.environ.get(CACHE_ENV)
    if env:
        folder = Path(env).expanduser()
    else:
        from xtal.util.dirs import user_cache_dir

        folder = user_cache_dir()
    return folder / f"xraydb-{key[1]}.json"


# -- cache -------------------------------------------------------------------------------------
def _anomalous(element: str | int, energy: Any, column: str) -> Any:
    tables = _tables()
    symbol = element.title() if isinstance(element, str) else None
    if symbol not in tables["mass"] or not isinstance(energy, float | int):
        return getattr(_xraydb(), f"{column}_chantler")(element, energy)
    key = f"{symbol}@{float(energy)!r}"
    pair = tables["anomalous"].get(key)
    if pair is None:
        xdb = _xraydb()
        pair = [float(xdb.f1_chantler(symbol, energy)), float(xdb.f2_chantler(symbol, energy))]
        tables["anomalous"][key] = pair
        _save(tables)
    return pair[0] if column == "f1" else pair[1]


@lru_cache(maxsize=1)
def _tables() -> dict[str, Any]:
    """The cached tables (read from disk, or built from xraydb and written once)."""
    path = cache_path()
    key = _xraydb_key()
    if path is not None and key is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("schema") == _SCHEMA and data.get("key") == key[0]:
                return data
        except (OSError, ValueError, AttributeError):
            pass  # missing or unreadable: rebuild it
    data = _build(key[0] if key else "")
    _save(data)
    return data


def _build(key: str) -> dict[str, Any]:
    xdb = _xraydb()
    symbols = [xdb.atomic_symbol(z) for z in range(1, _N_ELEMENTS + 1)]
    rows = {r.ion: r for r in xdb.get_xraydb().get_cache("Waasmaier")}
    f0_coeffs = {}
    for el in symbols:
        r = rows.get(el)
        if r is not None:
            f0_coeffs[el] = [r.offset, json.loads(r.scale), json.loads(r.exponents)]
    return {
        "schema": _SCHEMA,
        "key": key,
        "symbols": symbols,
        "mass": {el: float(xdb.atomic_mass(el)) for el in symbols},
        "f0": f0_coeffs,
        "anomalous": {},
    }


def _save(data: dict[str, Any]) -> None:
    path = cache_path()
    if path is None or not data.get("key"):
        return
    from xtal.util.files import atomic_write

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(data, separators=(",", ":")))
    except OSError:
        pass  # no cache: every process asks xraydb, as without this module


@lru_cache(maxsize=1)
def _xraydb_key() -> tuple[str, str] | None:
    """(full key, short hash) of the installed xraydb: its code and database files."""
    spec = find_spec("xraydb")  # finds the package without importing it
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent
    parts = [str(folder)]
    for name in ("xraydb.py", "xraydb.sqlite", "version.py"):
        try:
            st = (folder / name).stat()
        except OSError:
            return None
        parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    full = "|".join(parts)
    import hashlib

    return full, hashlib.sha256(full.encode()).hexdigest()[:16]


def _xraydb() -> Any:
    import xraydb

    return xraydb
