"""Exports of a refinement result for other programs (VESTA, GSAS-II).

* refined phases as CIF 1.1 with the refinement's esds in parentheses
  (:func:`xtal.io.cif_write.format_cif`, esd keys from
  :func:`xtal.io.refine_output.cif_esds`, so the files equal what ``xtal refine``
  writes);
* the refined instrument as a GSAS-II ``.instprm`` (:func:`xtal.io.instprm.write_instprm`);
* the observed data with σ as ``.xye`` (2θ, I, σ), the points the refinement used.

Every function checks all its outputs before it writes any of them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError
from xtal.refine.result import Result
from xtal.util.files import atomic_write, check_writable


def load_result(path: str | os.PathLike[str]) -> Result:
    """The :class:`Result` of a refinement directory (or its ``result.json``), one-line errors."""
    p = Path(path)
    if p.is_dir() and not (p / "result.json").is_file():
        raise InputError("directory holds no result.json (not a refinement result)", p)
    return Result.load(p)


def is_result(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a directory holding ``result.json`` or a ``.json`` file."""
    p = Path(path)
    return (p.is_dir() and (p / "result.json").is_file()) or (
        p.is_file() and p.suffix.lower() == ".json"
    )


def result_cif(result: Result, name: str, p1: bool = False) -> str:
    """CIF text of refined phase ``name`` with esds, R factors and provenance."""
    from xtal.io.refine_output import refined_cif

    if name not in result.phases:
        raise InputError(f"no phase {name!r} in the result (phases: {', '.join(result.phases)})")
    if not result.phases[name].phase.sites:
        raise InputError(
            f"phase {name} was fitted by Le Bail extraction: no atoms to write a CIF of "
            f"(its cell is in result.json, its intensities in {name}_lebail.hkl)"
        )
    return refined_cif(result, name, p1=p1)


def cif_targets(result: Result, path: str | os.PathLike[str],
                phase: str | None = None) -> dict[str, Path]:
    """Which phase goes to which file: ``path`` for one phase (or ``phase``), else
    ``<stem>_<phase><suffix>`` for each."""
    p = Path(path)
    if phase is not None:
        if phase not in result.phases:
            raise InputError(
                f"no phase {phase!r} in the result (phases: {', '.join(result.phases)})"
            )
        return {phase: p}
    names = [n for n, ph in result.phases.items() if ph.phase.sites] or list(result.phases)
    if len(names) == 1:
        return {names[0]: p}
    out: dict[str, Path] = {}
    for name in names:
        safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", name).strip(".") or "phase"
        out[name] = p.with_name(f"{p.stem}_{safe}{p.suffix or '.cif'}")
    if len(set(out.values())) < len(out):
        raise InputError("phase names give the same file name; choose one with --phase", p)
    return out


def write_result_cifs(result: Result, path: str | os.PathLike[str], phase: str | None = None,
                      p1: bool = False, force: bool = False) -> list[Path]:
    """Write the refined phase(s) as CIF (see :func:`cif_targets` for the file names)."""
    targets = cif_targets(result, path, phase)
    for t in targets.values():
        check_writable(t, force)
    texts = {n: result_cif(result, n, p1) for n in targets}
    return [atomic_write(t, texts[n]) for n, t in targets.items()]


def observed_pattern(result: Result) -> Pattern:
    """The observed data of the refinement (2θ, I, σ) with the refined wavelengths."""
    cv = result.curves
    ins = result.instrument
    return Pattern(
        x=cv.x, y=cv.observed, sigma=cv.sigma, wavelength=ins.lam1,
        wavelength2=ins.lam2, ratio=ins.ratio if ins.lam2 is not None else None,
        name="observed", source=result.data_source,
    )


def write_result_xye(result: Result, path: str | os.PathLike[str],
                     force: bool = False) -> Path:
    """Write the observed 2θ, I, σ of the refinement as a three-column ``.xye`` file."""
    from xtal.io.pattern_write import write_xy

    header = [f"observed data of an xtal refinement (Rwp = {100 * result.rwp:.2f} %)",
              f"data: {result.data_source or 'unknown'}"]
    return write_xy(observed_pattern(result), path, header=header, force=force, esd=True)


def write_result_instprm(result: Result, path: str | os.PathLike[str],
                         force: bool = False) -> Path:
    """Write the refined instrument as a GSAS-II ``.instprm`` file."""
    from xtal.io.instprm import write_instprm

    return write_instprm(result.instrument, path, force=force)
