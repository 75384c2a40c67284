"""Choosing one pattern from a file with several scans, ranges or banks.

A file can hold several scans: Bruker RAW ranges, XRDML scans, RAS/RASX scans, GSAS
banks, BRML data routes.  Refining "the first one" without a word is a silent misread,
so :func:`choose_scan` returns scan N when asked (``PATH#N``), the only scan, or the
merge of all of them when :func:`merge_scans` finds that meaningful, and refuses
otherwise with one line that lists the scans.

When merging is meaningful (the rule)
-------------------------------------
All scans must have the same wavelengths and ratio, the same intensity unit, esds in
all or none, and the same counting time per step stated by every scan (without a
stated time, counts of different scans cannot be put on one scale).  Then:

* scans whose 2θ ranges do not overlap (a long scan measured in ranges) are joined
  side by side, in 2θ order;
* scans on one and the same 2θ grid (repeats) are summed point by point: counts add,
  the counting time adds, σ² adds (Poisson when the file gives no esds).

Anything else (overlapping but different grids, different times or radiation, GSAS
banks of different detectors) is refused: choose a scan with ``PATH#N``.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError, InputWarning


def choose_scan(patterns: list[Pattern], number: int | None, path: Path) -> Pattern:
    """Scan ``number`` (1-based), the only scan, or the meaningful merge of all."""
    n = len(patterns)
    if number is not None:
        if not 1 <= number <= n:
            raise InputError(f"scan {number} is not in the file; it holds {n} scan(s): "
                             f"{listing(patterns)}", path)
        return patterns[number - 1]
    if n == 1:
        return patterns[0]
    merged, why = merge_scans(patterns)
    if merged is None:
        raise InputError(f"holds {n} scans ({listing(patterns)}) that cannot be merged ({why}); "
                         f"choose one as {path.name}#N", path)
    text = f"{n} scans merged into one pattern ({why}); choose one as {path.name}#N instead"
    merged.metadata.setdefault("warnings", []).append(text)
    warnings.warn(f"{path}: {text}", InputWarning, stacklevel=3)
    return merged


def listing(patterns: list[Pattern], limit: int = 4) -> str:
    """``'#1 10–40° (1500 points), #2 …'`` for messages (at most ``limit`` scans)."""
    parts = [f"#{k} {p.x[0]:.4g}–{p.x[-1]:.4g}° ({p.x.size} points)"
             for k, p in enumerate(patterns[:limit], start=1)]
    if len(patterns) > limit:
        parts.append(f"… #{len(patterns)}")
    return ", ".join(parts)


def merge_scans(patterns: list[Pattern]) -> tuple[Pattern | None, str]:
    """The merge of ``patterns`` and how it was made, or (None, why not) (see module doc)."""
    for key, what in ((_radiation, "different wavelengths"), (_unit, "different intensity units"),
                      (_has_sigma, "esds in some scans only")):
        if len({key(p) for p in patterns}) > 1:
            return None, what
    times = [p.metadata.get("count_time_s") for p in patterns]
    if any(not isinstance(t, int | float) or t <= 0 for t in times):
        return None, "counting time per step not stated for every scan"
    if same_grid(patterns):
        return _sum(patterns, float(sum(times))), "repeats of one 2θ range, summed"
    if len(set(times)) > 1:
        return None, "different counting times"
    order = sorted(patterns, key=lambda p: p.x[0])
    if any(a.x[-1] >= b.x[0] for a, b in zip(order, order[1:], strict=False)):
        return None, "overlapping 2θ ranges"
    return _join(order), "2θ ranges side by side"


def same_grid(patterns: list[Pattern]) -> bool:
    """True if every pattern has the 2θ points of the first (within 1e-6°)."""
    x0 = patterns[0].x
    return all(p.x.shape == x0.shape and np.allclose(p.x, x0, rtol=0, atol=1e-6)
               for p in patterns[1:])


def _radiation(p: Pattern) -> tuple:
    return tuple(None if v is None else round(v, 6) for v in (p.wavelength, p.wavelength2,
                                                              p.ratio))


def _unit(p: Pattern) -> Any:
    return p.metadata.get("intensity_unit")


def _has_sigma(p: Pattern) -> bool:
    return p.sigma is not None


def _merged_meta(patterns: list[Pattern], how: str) -> dict[str, Any]:
    meta = dict(patterns[0].metadata)
    meta["merged_scans"] = [int(p.metadata.get("scan", k)) for k, p in
                            enumerate(patterns, start=1)]
    meta["merge"] = how
    meta.pop("warnings", None)
    return meta


def _sum(patterns: list[Pattern], total_time: float) -> Pattern:
    y = np.sum([p.y for p in patterns], axis=0)
    sigma = None
    if patterns[0].sigma is not None:
        sigma = np.sqrt(np.sum([p.sigma**2 for p in patterns], axis=0))
    meta = _merged_meta(patterns, "summed")
    meta["count_time_s"] = total_time
    return replace(patterns[0], y=y, sigma=sigma, metadata=meta,
                   name=f"{patterns[0].name} (sum of {len(patterns)} scans)")


def _join(order: list[Pattern]) -> Pattern:
    x = np.concatenate([p.x for p in order])
    y = np.concatenate([p.y for p in order])
    sigma = None if order[0].sigma is None else np.concatenate([p.sigma for p in order])
    return replace(order[0], x=x, y=y, sigma=sigma, metadata=_merged_meta(order, "joined"),
                   name=f"{order[0].name} ({len(order)} ranges joined)")
