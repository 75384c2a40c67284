"""``xtal compare`` from names, files and refinement results.

Finds the phases (:func:`xtal.io.library.load_phase`), refinement results
(``result.json``, :class:`~xtal.refine.result.Result`) and instrument
(:func:`xtal.io.instprm.read_instrument`) the user named, and hands the values to
:func:`xtal.analysis.compare.compare`, which knows no files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from xtal.analysis.compare import DEFAULT_RANGE, CompareEntry, Comparison
from xtal.analysis.compare import compare as compare_values
from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.errors import InputError
from xtal.refine.result import Result

_CELL_KEYS = ("a", "b", "c", "alpha", "beta", "gamma")


def compare(
    phases: Sequence[Phase | Result | str | os.PathLike[str]],
    instrument: Instrument | str | os.PathLike[str] | None = None,
    two_theta: tuple[float, float, float] | None = None,
    **options: float | str,
) -> Comparison:
    """Compare two or more phases given as values, names, CIFs or refinement results.

    Parameters
    ----------
    phases
        Phases, shipped/registered names, CIF paths, :class:`Result` objects or
        refinement result directories (``result.json`` or the directory holding
        one); a result contributes every refined phase with its weight fraction,
        R_Bragg and cell esds.
    instrument
        An :class:`Instrument` or ``.instprm``/``.prm`` file; default: the refined
        instrument of the first result given, else Cu Kα1/Kα2 defaults.
    two_theta
        (start, stop, step) in degrees; default: the first result's data range with
        its step, else :data:`~xtal.analysis.compare.DEFAULT_RANGE`.
    **options
        ``center``, ``ligand``, ``min_intensity``, ``other_intensity`` of
        :func:`xtal.analysis.compare.compare`.

    Raises
    ------
    InputError
        Fewer than two phases, an unreadable phase or result, a bad range.
    """
    entries: list[CompareEntry] = []
    first_result: Result | None = None
    for item in phases:
        result = _result(item)
        if result is None:
            phase = item if isinstance(item, Phase) else _load_phase(item)
            entries.append(CompareEntry(phase))
            continue
        if not result.phases:
            raise InputError("the refinement result has no phases", _source(item))
        first_result = first_result or result
        entries += entries_from_result(result)
    if len(entries) < 2:
        raise InputError(f"compare needs at least two phases (got {len(entries)})")
    inst = _instrument(instrument, first_result)
    tt = two_theta or _default_range(first_result)
    return compare_values(entries, inst, tt, **options)  # type: ignore[arg-type]


def entries_from_result(result: Result) -> list[CompareEntry]:
    """Every refined phase of ``result`` with its weight fraction, R_Bragg and cell esds."""
    origin = f"refinement ({result.data_source or 'unknown data'})"
    out = []
    for pr in result.phases.values():
        esd = tuple((pr.cell[k].esd if k in pr.cell and pr.cell[k].esd else None)
                    for k in _CELL_KEYS)
        out.append(CompareEntry(pr.phase, origin, pr.weight_fraction.value,
                                pr.weight_fraction.esd, pr.r_bragg, esd))
    return out


def _load_phase(item: str | os.PathLike[str]) -> Phase:
    from xtal.io.library import load_phase

    return load_phase(item)


def _result(item: object) -> Result | None:
    """A :class:`Result` if ``item`` is one, a result directory or a ``result.json``."""
    if isinstance(item, Result):
        return item
    if isinstance(item, Phase):
        return None
    p = Path(item)  # type: ignore[arg-type]
    if p.is_dir():
        if not (p / "result.json").is_file():
            raise InputError("directory holds no result.json (not a refinement result)", p)
        return Result.load(p)
    if p.is_file() and p.suffix.lower() == ".json":
        return Result.load(p)
    return None


def _source(item: object) -> str | None:
    return None if not isinstance(item, str | os.PathLike) else str(item)


def _instrument(
    given: Instrument | str | os.PathLike[str] | None, result: Result | None
) -> Instrument:
    if isinstance(given, Instrument):
        return given
    if given is not None:
        from xtal.io.instprm import read_instrument

        return read_instrument(given)
    return result.instrument if result is not None else Instrument()


def _default_range(result: Result | None) -> tuple[float, float, float]:
    if result is None or result.curves.x.size < 2:
        return DEFAULT_RANGE
    x = result.curves.x
    return (float(x[0]), float(x[-1]), float(np.median(np.diff(x))))
