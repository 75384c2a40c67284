"""A GSAS-II project (``.gpx``) from a refinement result, for GSAS-II's GUI.

The fitted points (2θ, I, σ), the refined phases, instrument, background and every
refined value of a :class:`~xtal.refine.result.Result` (from any engine) go into a
GSAS-II project built as for a refinement (:mod:`xtal.refine.gsas2.engine`), with the
pattern calculated by GSAS-II.  A fixed background (e.g. FullProf ``.BGR`` points)
is what the result's background holds beyond its Chebyshev terms and halos; GSAS-II
receives the data with it subtracted.  Nothing is refined: a user continues in the GUI.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

from xtal.diffraction.pattern import Pattern
from xtal.diffraction.simulate import PhaseTerms
from xtal.errors import InputError
from xtal.refine.recipe import HaloStart, Recipe, Stage, load_recipe
from xtal.refine.result import Result


def export_gpx(result: Result, path: str | os.PathLike[str]) -> Path:
    """Write the GSAS-II project of ``result`` to ``path`` (atomically; the caller checks it)."""
    from xtal.refine.gsas2.engine import GsasEngine

    target = Path(path)
    problem = problem_from_result(result)
    values = {k: v.value for k, v in result.parameters.items()}
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".gpx",
                               dir=target.parent.absolute())
    os.close(fd)
    try:
        with GsasEngine() as engine:
            engine.setup(problem)
            engine.set_values(values)
            engine.save_gpx(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def problem_from_result(result: Result):
    """The refinement problem a result describes, at its refined values."""
    from xtal.refine.gsas2.seam import Problem

    c = result.curves
    pattern = Pattern(c.x, c.observed, sigma=c.sigma, source=result.data_source)
    recipe = _recipe(result)
    phases = tuple(pr.phase for pr in result.phases.values())
    fixed = c.background - _refined_background(result, recipe, c.x)
    scale = max(float(np.abs(c.background).max()), 1e-300)
    return Problem(
        pattern=pattern, phases=phases, instrument=result.instrument, recipe=recipe,
        fixed_background=fixed if np.abs(fixed).max() > 1e-9 * scale else None,
        phase_terms={p.name: _terms(result, recipe, p.name) for p in phases})


def _recipe(result: Result) -> Recipe:
    """Chebyshev terms and halos as the result's parameters have them (halo shape: recipe's)."""
    try:
        named = load_recipe(result.recipe) if result.recipe else None
    except InputError:
        named = None
    n_cheb = len([k for k in result.parameters if re.fullmatch(r"background\.chebyshev\.\d+", k)])
    halos = []
    i = 0
    while f"background.halo.{i}.position" in result.parameters:
        lf = named.halos[i].lorentz_fraction if named and i < len(named.halos) else 0.0
        halos.append(HaloStart(result.value(f"background.halo.{i}.position").value,
                               result.value(f"background.halo.{i}.fwhm").value, lf))
        i += 1
    options = dict(named.phase_options) if named else {}
    return Recipe(result.recipe or "result", (Stage("none", ()),), chebyshev=n_cheb,
                  halos=tuple(halos), phase_options=options)


def _refined_background(result: Result, recipe: Recipe, x: np.ndarray) -> np.ndarray:
    """Chebyshev terms + halos at the result's values (physics.md §6, as xtal draws them)."""
    from xtal.diffraction.background import chebyshev_basis
    from xtal.diffraction.peaks import single_peak
    from xtal.diffraction.profile import render_peaks

    coeffs = [result.value(f"background.chebyshev.{i}").value for i in range(recipe.chebyshev)]
    y = chebyshev_basis(x, len(coeffs)) @ np.asarray(coeffs) if coeffs else np.zeros_like(x)
    for i, h in enumerate(recipe.halos):
        p = f"background.halo.{i}."
        fw, lf = result.value(p + "fwhm").value, h.lorentz_fraction
        halo = single_peak(result.value(p + "position").value, result.value(p + "area").value,
                           fw * (1 - lf), fw * lf)
        y = y + render_peaks(x, halo)
    return y


def _terms(result: Result, recipe: Recipe, name: str) -> PhaseTerms:
    import fnmatch

    pre = f"phases.{name}."
    ratio = result.parameters.get(pre + "po.ratio")
    axis = None
    for pattern, opts in recipe.phase_options.items():
        if fnmatch.fnmatchcase(name, pattern) and "po_axis" in opts:
            axis = tuple(opts["po_axis"])
    if ratio is not None and abs(ratio.value - 1.0) > 1e-12 and axis is None:
        raise InputError(f"phase {name}: result.json does not record the preferred-orientation "
                         f"axis its March–Dollase ratio belongs to")
    size = result.parameters.get(pre + "size")
    strain = result.parameters.get(pre + "microstrain")
    return PhaseTerms(po_axis=axis, po_ratio=ratio.value if ratio else 1.0,
                      size=size.value if size and size.value > 0 else None,
                      microstrain=strain.value if strain else 0.0)
