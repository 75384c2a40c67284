"""From an engine's output to a :class:`Result` (engine-neutral).

Every figure of merit is computed here from the curves and the covariance, with
:mod:`xtal.refine.metrics`, so the native and the GSAS-II engine are judged alike.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np

from xtal.refine.amorphous import InternalStandard, crystallinity, internal_standard_fractions
from xtal.refine.engine import EngineOutput
from xtal.refine.metrics import (
    agreement,
    correlations,
    covariance_block,
    r_bragg,
    volume_esd,
    weight_fractions,
)
from xtal.refine.paths import CELL_KEYS, SITE_KEYS, ParamPath
from xtal.refine.result import Curves, PhaseResult, Result, Value


def parameter_values(out: EngineOutput) -> dict[str, Value]:
    """Every parameter with its esd (None when not refined or held by constraints)."""
    esd: dict[str, float] = {}
    if out.covariance is not None:
        diag = np.diag(out.covariance)
        esd = {n: float(np.sqrt(d)) for n, d in zip(out.refined, diag, strict=True) if d > 0}
    return {n: Value(v, esd.get(n)) for n, v in out.values.items()}


def build_result(
    out: EngineOutput,
    *,
    recipe: str,
    data_source: str | None,
    stages: list[dict],
    warnings: list[str],
    stopped: str | None,
    internal_standard: InternalStandard | None = None,
) -> Result:
    """The :class:`Result` of a refinement whose final state is ``out``."""
    from xtal import __version__

    ag = agreement(out.observed, out.calculated, out.background, out.sigma, out.n_free)
    params = parameter_values(out)
    warnings = list(warnings) + list(out.warnings)
    corr = correlations(out.refined, out.covariance, out.free_map)
    # background terms among themselves correlate by construction: listed, not warned of
    physical = [c for c in corr if not (c[0].startswith("background.")
                                        and c[1].startswith("background."))]
    if physical:
        strongest = sorted(physical, key=lambda c: -abs(c[2]))
        shown = "; ".join(f"{a} / {b} ({r:+.2f})" for a, b, r in strongest[:6])
        more = f"; and {len(physical) - 6} more pairs (result.json)" if len(physical) > 6 else ""
        warnings.append(f"strongly correlated (|ρ| > 0.9): {shown}{more}")
    phases = _phase_results(out, params, warnings)
    amorphous = _with_standard(out, phases, internal_standard)
    return Result(
        rwp=ag.rwp,
        rp=ag.rp,
        rexp=ag.rexp,
        gof=ag.gof,
        chi2=ag.chi2,
        rwp_background_subtracted=ag.rwp_background_subtracted,
        rp_background_subtracted=ag.rp_background_subtracted,
        n_points=int(out.x.size),
        n_parameters=out.n_free,
        parameters=params,
        phases=phases,
        instrument=out.instrument,
        curves=Curves(
            out.x, out.observed, out.calculated, out.background, out.sigma, out.phase_curves
        ),
        correlations=corr,
        stages=stages,
        warnings=warnings,
        stopped=stopped,
        recipe=recipe,
        data_source=data_source,
        engine=out.engine,
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        xtal_version=__version__,
        amorphous=amorphous,
        crystallinity=_crystallinity(out),
        internal_standard=None
        if internal_standard is None
        else {
            "phase": internal_standard.phase,
            "weight_fraction": internal_standard.fraction,
            "esd": internal_standard.esd,
        },
    )


def _scale_keys(out: EngineOutput, names: list[str]) -> list[str]:
    return [str(ParamPath.phase_leaf(n, "scale")) for n in names]


def _with_standard(
    out: EngineOutput, phases: dict[str, PhaseResult], std: InternalStandard | None
) -> Value | None:
    """Fractions of the original sample and its amorphous part (xtal.refine.amorphous)."""
    if std is None:
        return None
    names = [n for n in out.phases if n not in out.le_bail]
    keys = _scale_keys(out, names)
    scales = np.array([out.values[k] for k in keys])
    zmv = np.array([out.phases[n].zmv for n in names])
    cov = covariance_block(keys, out.refined, out.covariance)
    fractions, (a, a_esd) = internal_standard_fractions(names, scales, zmv, cov, std)
    for n, (x, e) in fractions.items():
        phases[n].weight_fraction_of_sample = Value(x, e)
    return Value(a, a_esd)


def _crystallinity(out: EngineOutput) -> Value | None:
    """Bragg / (Bragg + halo) areas above the Chebyshev background (xtal.refine.amorphous)."""
    if not out.halo_curves:
        return None
    names = list(out.phases)
    unit_b = [float(np.trapezoid(out.phase_curves[n], out.x)) for n in names]
    unit_h = [float(np.trapezoid(c, out.x)) for c in out.halo_curves.values()]
    keys = _scale_keys(out, names) + [
        str(ParamPath.halo(int(k.split(".")[1]), "area")) for k in out.halo_curves
    ]
    values = np.array([out.values[k] for k in keys])
    areas = np.array(unit_b + unit_h)
    cov = covariance_block(keys, out.refined, out.covariance)
    if cov is not None:
        # each area is proportional to its linear parameter
        factor = np.divide(areas, values, out=np.zeros_like(areas), where=values != 0)
        cov = cov * np.outer(factor, factor)
    doc, esd = crystallinity(areas[: len(names)], areas[len(names) :], cov)
    return Value(doc, esd)


def _phase_results(
    out: EngineOutput, params: dict[str, Value], warnings: list[str]
) -> dict[str, PhaseResult]:
    names = list(out.phases)
    scale_keys = [str(ParamPath.phase_leaf(n, "scale")) for n in names]
    # Le Bail phases have no structure, hence no weight fraction (Hill–Howard needs ZMV)
    qpa = [(n, k) for n, k in zip(names, scale_keys, strict=True) if n not in out.le_bail]
    scales = {n: out.values[k] for n, k in qpa}
    zmv = {n: out.phases[n].zmv for n, _ in qpa}
    block = covariance_block([k for _, k in qpa], out.refined, out.covariance)
    wfs = weight_fractions(scales, zmv, block) if qpa else {}
    result = {}
    for n, key in zip(names, scale_keys, strict=True):
        ph = out.phases[n]
        # an engine reports every value it offers; the rest are the structure's own
        cell = {
            k: params.get(str(ParamPath.cell(n, k)), Value(v))
            for k, v in zip(CELL_KEYS, ph.cell.parameters, strict=True)
        }
        cell["volume"] = Value(ph.cell.volume, volume_esd(n, ph, out.refined, out.covariance))
        sites = {
            s.label: {
                k: params.get(str(ParamPath.site_param(n, s.label, k)), Value(v))
                for k, v in zip(SITE_KEYS, (*s.xyz, s.occupancy, s.b_iso), strict=True)
            }
            for s in ph.sites
        }
        hkl = out.hkl[n]
        rb, refl = r_bragg(
            out.x,
            out.observed,
            out.calculated,
            out.background,
            out.peaks[n],
            out.values[key],
            hkl,
            out.multiplicity[n],
            ph.cell.d_spacing(hkl),
            out.fcj,
        )
        wf, wf_esd = wfs.get(n, (float("nan"), None))
        result[n] = PhaseResult(n, ph, cell, params[key], Value(wf, wf_esd), rb, sites, refl)
        if any(s.b_iso <= 0 for s in ph.sites) and any(
            sites[s.label]["biso"].esd is not None for s in ph.sites
        ):
            warnings.append(f"{n}: some B_iso reached 0 (held at the bound)")
    return result
