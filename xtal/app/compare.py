"""``xtal compare`` from names, files and refinement results.

Finds the phases (:func:`xtal.io.library.load_phase`), refinement results
(``result.json``, :class:`~xtal.refine.result.Result`), a measured pattern
(:func:`xtal.io.patterns.read_one`) and the instrument
(:func:`xtal.io.instprm.read_instrument`) the user named, and hands values to
:func:`xtal.analysis.compare.compare` and :mod:`xtal.analysis.fits`, which know no files.

What is compared
----------------
* Phases and CIFs as given.
* One refinement result: its refined phases, with ``starting_models=True`` (what
  ``xtal compare RESULT_DIR`` does) each beside the model it started from (read again
  from the file the refinement started from, ``structure.source`` in ``result.json``; a
  note says so when that file is gone), plus any phase given.
* Several refinement results (fits of different models to one pattern, e.g. the average
  trigonal Na3BS3 and its ordered candidates): the phases that differ between the fits
  (a phase of the same name in every fit, such as Na2S, is shown once; fits of the same
  phases, e.g. one model refined two ways, show each fit's), a table of the fits (Rwp,
  GOF, parameters, ring distortion), Hamilton's R-ratio test of each fit against the
  first, and the reflections each fit's own phases have that the first fit's do not
  (:func:`xtal.analysis.fits.extra_reflections`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from xtal.analysis.compare import DEFAULT_RANGE, CompareEntry, Comparison
from xtal.analysis.compare import compare as compare_values
from xtal.analysis.fits import ExtraReflection, FitSummary, HamiltonTest
from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError
from xtal.refine.result import Result
from xtal.util.names import unique_names

_CELL_KEYS = ("a", "b", "c", "alpha", "beta", "gamma")
Item = Phase | Result | str | os.PathLike[str]


@dataclass(frozen=True)
class _Fit:
    name: str
    result: Result
    source: str | None


def compare(
    phases: Sequence[Item],
    instrument: Instrument | str | os.PathLike[str] | None = None,
    two_theta: tuple[float, ...] | None = None,
    *,
    data: Pattern | str | os.PathLike[str] | None = None,
    alpha: float = 0.05,
    starting_models: bool = False,
    **options: float | str,
) -> Comparison:
    """Compare phases, CIFs and refinement results (see the module docstring).

    Parameters
    ----------
    phases
        Phases, shipped/registered names, CIF paths, :class:`Result` objects or
        refinement result directories (``result.json`` or the directory holding one).
    instrument
        An :class:`Instrument` or ``.instprm``/``.prm`` file; default: the refined
        instrument of the first result given, else Cu Kα1/Kα2 defaults.
    two_theta
        (lo, hi) or (lo, hi, step) in degrees; default: the range and step of ``data``,
        else of the first result, else :data:`~xtal.analysis.compare.DEFAULT_RANGE`;
        the step defaults likewise.
    data
        A measured pattern to overlay (a :class:`Pattern` or any file xtal reads).
    alpha
        Significance level of Hamilton's test between fits.
    starting_models
        With a single result: show each refined phase beside its starting model.
    **options
        ``center``, ``ligand``, ``min_intensity``, ``other_intensity`` of
        :func:`xtal.analysis.compare.compare`.

    Raises
    ------
    InputError
        Fewer than two phases in all, an unreadable phase, result or pattern, a bad range.
    """
    fits: list[_Fit] = []
    given: list[CompareEntry] = []
    for item in phases:
        result = _result(item)
        if result is None:
            given.append(CompareEntry(item if isinstance(item, Phase) else _load_phase(item)))
        elif not result.phases:
            raise InputError("the refinement result has no phases", _source(item))
        else:
            fits.append(_Fit(_fit_label(item, len(fits)), result, _source(item)))
    names = unique_names([f.name for f in fits], "{name} ({k})")
    fits = [replace(f, name=n) for f, n in zip(fits, names, strict=True)]
    notes: list[str] = []
    entries = _fit_entries(fits, notes, starting_models) + given
    if len(entries) < 2:
        raise InputError(f"compare needs at least two phases (got {len(entries)}): give "
                         "another phase" + (", or a result whose starting model can be read"
                                            if starting_models else ""))
    measured = _pattern(data) if data is not None else None
    first = fits[0].result if fits else None
    inst = _instrument(instrument, first)
    tt = _range(two_theta, measured, first)
    comp = compare_values(entries, inst, tt, **options)  # type: ignore[arg-type]
    summaries, tests, extra = _fits(fits, alpha, notes, options)
    return replace(comp, fits=tuple(summaries), tests=tuple(tests), extra=tuple(extra),
                   measured=measured, notes=tuple(notes),
                   fit_curves={f.name: _curves(f.result) for f in fits})


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


def starting_models(result: Result, notes: list[str]) -> list[CompareEntry]:
    """The model each refined phase started from, read again from its file (see module)."""
    out = []
    for name, pr in result.phases.items():
        src = pr.phase.source
        if not src or not Path(src).is_file():
            notes.append(f"starting model of {name} not shown: its file "
                         f"{src or '(none recorded)'} is not there")
            continue
        try:
            start = _load_phase(src)
        except InputError as err:
            notes.append(f"starting model of {name} not shown: {err}")
            continue
        out.append(CompareEntry(replace(start, name=f"{name} (start)"), f"starting model ({src})"))
    return out


# -- pieces ----------------------------------------------------------------------------------
def _fit_entries(fits: list[_Fit], notes: list[str], start: bool) -> list[CompareEntry]:
    if len(fits) == 1:
        first = entries_from_result(fits[0].result)
        return first + (starting_models(fits[0].result, notes) if start else [])
    common = set.intersection(*(set(f.result.phases) for f in fits)) if fits else set()
    if all(set(f.result.phases) == common for f in fits):
        common = set()  # the same models refined differently: show each fit's phases
    out: list[CompareEntry] = []
    for k, f in enumerate(fits):
        out += [e for e in entries_from_result(f.result)
                if k == 0 or e.phase.name not in common]
    if common and fits:
        notes.append(f"phases in every fit ({', '.join(sorted(common))}) are shown once, "
                     f"from {fits[0].name}")
    return out


def _fits(fits: list[_Fit], alpha: float, notes: list[str], options: dict
          ) -> tuple[list[FitSummary], list[HamiltonTest], list[ExtraReflection]]:
    from xtal.analysis.fits import hamilton_test

    center, ligand = str(options.get("center", "B")), str(options.get("ligand", "S"))
    summaries = [_summary(f, center, ligand) for f in fits]
    tests: list[HamiltonTest] = []
    extra: list[ExtraReflection] = []
    if not fits:
        return summaries, tests, extra
    ref = fits[0]
    for f in fits[1:]:
        if not _same_points(ref.result, f.result):
            notes.append(f"{f.name} was not fitted to the same points as {ref.name}: no "
                         "Hamilton test, no residuals")
            continue
        r0, r1 = ref.result, f.result
        try:
            tests.append(hamilton_test((ref.name, r0.rwp, r0.n_parameters),
                                       (f.name, r1.rwp, r1.n_parameters), r0.n_points, alpha))
        except InputError as err:
            notes.append(f"{f.name} against {ref.name}: {err.message}")
        extra += _extra(ref, f)
    return summaries, tests, extra


def _summary(f: _Fit, center: str, ligand: str) -> FitSummary:
    from xtal.analysis.rings import rings

    ring_values = {}
    for name, pr in f.result.phases.items():
        try:
            rep = rings(pr.phase, center=center, ligand=ligand)
        except InputError:
            continue  # a phase without X–Y rings (Na2S)
        ring_values[name] = (rep.mean_distortion_index, rep.mean_angle_variance,
                             rep.mean_shape_measure)
    r = f.result
    return FitSummary(f.name, tuple(r.phases), float(r.rwp), float(r.gof), int(r.n_parameters),
                      int(r.n_points), ring_values, f.source)


def _extra(ref: _Fit, fit: _Fit) -> list[ExtraReflection]:
    from xtal.analysis.fits import extra_reflections

    own = [p for p in fit.result.phases if p not in ref.result.phases]
    theirs = [p for p in ref.result.phases if p not in fit.result.phases]
    if not own or not theirs:
        return []
    ref_d = np.concatenate([np.asarray(ref.result.phases[p].reflections.get("d", []), float)
                            for p in theirs])
    c = ref.result.curves
    out = []
    for p in own:
        out += extra_reflections(fit.name, p, fit.result.phases[p].reflections, ref_d,
                                 fit.result.instrument, (c.x, c.observed, c.sigma, c.calculated))
    return out


def _same_points(a: Result, b: Result) -> bool:
    ca, cb = a.curves, b.curves
    return (ca.x.shape == cb.x.shape and np.allclose(ca.x, cb.x, rtol=0, atol=1e-9)
            and np.allclose(ca.observed, cb.observed, rtol=1e-12, atol=0))


def _curves(r: Result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return r.curves.x, r.curves.observed, r.curves.calculated


def _fit_label(item: object, k: int) -> str:
    if isinstance(item, Result):
        return f"fit {k + 1}"
    p = Path(item)  # type: ignore[arg-type]
    return (p if p.is_dir() else p.parent).resolve().name or f"fit {k + 1}"


def _load_phase(item: str | os.PathLike[str]) -> Phase:
    from xtal.io.library import load_phase

    return load_phase(item)


def _pattern(data: Pattern | str | os.PathLike[str]) -> Pattern:
    if isinstance(data, Pattern):
        return data
    from xtal.io.patterns import read_one

    return read_one(data)


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


def _range(given: tuple[float, ...] | None, measured: Pattern | None,
           result: Result | None) -> tuple[float, float, float]:
    """(lo, hi, step): what was given, completed from the data, the result or the default."""
    x = measured.x if measured is not None else (result.curves.x if result is not None
                                                  else None)
    if x is not None and x.size >= 2:
        default = (float(x[0]), float(x[-1]), float(np.median(np.diff(x))))
    else:
        default = DEFAULT_RANGE
    if given is None:
        return default
    if len(given) not in (2, 3):
        raise InputError(f"a 2θ range is LO HI [STEP], not {len(given)} numbers")
    step = float(given[2]) if len(given) == 3 else default[2]
    return (float(given[0]), float(given[1]), step)
