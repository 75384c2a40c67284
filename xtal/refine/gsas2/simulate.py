"""A powder pattern calculated by GSAS-II's own routines (``xtal simulate --engine gsas2``).

The phases, instrument and background become a GSAS-II project (as for a
refinement) whose pattern GSAS-II calculates without refining anything; each phase's
curve comes from GSAS-II's "phase partials".  Use it where a profile must be exactly
GSAS-II's — e.g. with an SH/L calibrated in GSAS-II, whose FCJ quadrature differs
from the converged integral (physics.md §5).  Scales and the normalisation to a peak
height follow :func:`xtal.diffraction.simulate.simulate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from xtal.crystal.phase import Phase
from xtal.diffraction.background import Background
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.diffraction.reflections import ReflectionList
from xtal.diffraction.simulate import PhaseTerms, two_theta_grid
from xtal.errors import InputError
from xtal.refine.recipe import HaloStart, Recipe, Stage
from xtal.util.names import unique_names


def simulate_gsas2(
    phases: Phase | Sequence[Phase],
    instrument: Instrument | None = None,
    two_theta: np.ndarray | tuple[float, float, float] = (10.0, 80.0, 0.01),
    weights: Sequence[float] | None = None,
    terms: Sequence[PhaseTerms] | None = None,
    background: Background | None = None,
    peak_height: float | None = 10000.0,
) -> Pattern:
    """Calculate a powder pattern with GSAS-II (arguments as :func:`xtal.simulate`)."""
    from xtal.refine.gsas2.engine import GsasEngine
    from xtal.refine.gsas2.seam import Problem

    plist = [phases] if isinstance(phases, Phase) else list(phases)
    if not plist:
        raise InputError("no phases to simulate")
    names = unique_names([p.name for p in plist])
    plist = [replace(p, name=n) for p, n in zip(plist, names, strict=True)]
    inst = instrument or Instrument()
    x = two_theta_grid(*two_theta) if isinstance(two_theta, tuple) else np.asarray(two_theta)
    tlist = list(terms) if terms is not None else [PhaseTerms() for _ in plist]
    scales = _scales(plist, tlist, weights)
    bg = background or Background()
    _check_range(bg, x)
    halos = tuple(HaloStart(h.position, h.fwhm_g + h.fwhm_l,
                            h.fwhm_l / max(h.fwhm_g + h.fwhm_l, 1e-12)) for h in bg.halos)
    recipe = Recipe("simulate", (Stage("none", ()),), chebyshev=len(bg.chebyshev), halos=halos)
    problem = Problem(Pattern(x, np.zeros_like(x), sigma=np.ones_like(x)), tuple(plist), inst,
                      recipe, phase_terms=dict(zip(names, tlist, strict=True)))
    values = {f"phases.{n}.scale": s for n, s in zip(names, scales, strict=True)}
    values.update({f"background.chebyshev.{i}": c for i, c in enumerate(bg.chebyshev)})
    for i, h in enumerate(bg.halos):
        values.update({f"background.halo.{i}.position": h.position,
                       f"background.halo.{i}.fwhm": h.fwhm_g + h.fwhm_l,
                       f"background.halo.{i}.area": h.area})
    with GsasEngine() as engine:
        engine.setup(problem)
        engine.set_values(values)
        out = engine.output()
    return _pattern(out, names, inst, peak_height)


def _scales(plist: list[Phase], tlist: list[PhaseTerms], weights) -> list[float]:
    if len(tlist) != len(plist):
        raise InputError(f"{len(tlist)} phase terms given for {len(plist)} phases")
    if weights is None:
        return [t.scale for t in tlist]
    w = np.asarray(weights, float)
    if w.size != len(plist) or np.any(w < 0) or w.sum() <= 0:
        raise InputError(f"weights {list(weights)} must be {len(plist)} non-negative numbers")
    s = (w / w.sum()) / np.array([p.zmv for p in plist])  # Hill & Howard
    return list(s / s.max())


def _check_range(bg: Background, x: np.ndarray) -> None:
    for end, want in ((bg.lo, x[0]), (bg.hi, x[-1])):
        if end is not None and abs(end - want) > 1e-9:
            raise InputError("GSAS-II maps the Chebyshev background over the calculated range; "
                             "a background defined over another range cannot be passed on")


def _pattern(out, names: list[str], inst: Instrument, peak_height: float | None) -> Pattern:
    bragg = sum(out.phase_curves.values())
    factor = peak_height / bragg.max() if peak_height is not None and bragg.max() > 0 else 1.0
    parts = {n: out.phase_curves[n] * factor for n in names}
    parts["background"] = out.background
    tables = {}
    for n in names:
        pk, hkl = out.peaks[n], out.hkl[n]
        first = pk.line == 0
        tth = np.full(len(hkl), np.nan)
        tth[pk.ref[first]] = pk.pos[first]
        inten = np.zeros(len(hkl))
        inten[pk.ref[first]] = pk.area[first] * out.values[f"phases.{n}.scale"] * factor
        d = out.phases[n].cell.d_spacing(hkl.astype(float))
        tables[n] = ReflectionList(hkl, out.multiplicity[n], d,
                                   {"two_theta": tth, "intensity": inten})
    return Pattern(x=out.x, y=bragg * factor + out.background, wavelength=inst.lam1,
                   wavelength2=inst.lam2, ratio=inst.ratio, name="+".join(names),
                   metadata={"simulated": True, "engine": out.engine, "scale_factor": factor},
                   reflections=tables, components=parts)
