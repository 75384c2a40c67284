"""Refine with a chosen engine, or with both, and compare them side by side.

``xtal refine ... --engine gsas2`` runs GSAS-II behind xtal's engine seam
(:mod:`xtal.refine.gsas2`) and keeps GSAS-II's project, listing and console log with
the outputs; ``--engine both`` runs xtal's engine and GSAS-II from the same start and
adds a comparison a referee can read: each refined value with its esd from both, the
difference in units of the combined esd, sqrt(esd₁² + esd₂²), Rwp, GOF, weight
fractions and wall time.  The native result stays the primary one.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xtal.errors import InputError
from xtal.refine.result import Result, Value
from xtal.util.esd import format_esd

ENGINES = ("native", "gsas2", "both")
Progress = Callable[[str, int, float], None]


@dataclass
class EngineRun:
    """A refinement's result and what goes beside it in the output directory."""

    result: Result
    seconds: float
    extras: dict[str, Path | str] = field(default_factory=dict)
    report_extra: str = ""
    scratch: Path | None = None

    def close(self) -> None:
        """Remove the scratch directory holding GSAS-II's files."""
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def __enter__(self) -> EngineRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def refine_with(engine: str, pattern, phases, instrument, recipe, *,
                progress: Progress | None = None, **options) -> EngineRun:
    """Refine with ``engine`` ("native", "gsas2" or "both"); options as :func:`xtal.refine`."""
    if engine not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}, not '{engine}'")
    if engine != "native":
        from xtal.refine.gsas2 import require_gsas2

        require_gsas2()  # before anything runs
    if engine == "native":
        return _native(pattern, phases, instrument, recipe, progress, options)
    gsas = _gsas2(pattern, phases, instrument, recipe, progress, options, prefix=engine == "both")
    if engine == "gsas2":
        return gsas
    native = _native(pattern, phases, instrument, recipe, _prefixed("xtal", progress), options)
    table = compare(native.result, gsas.result, native.seconds, gsas.seconds)
    native.extras = {**gsas.extras, "gsas2-result.json": gsas.result.dumps(),
                     "cross_check.json": json.dumps(table.to_json(), indent=1) + "\n"}
    native.report_extra = "\n" + table.to_markdown()
    native.scratch, gsas.scratch = gsas.scratch, None
    return native


def _native(pattern, phases, instrument, recipe, progress, options) -> EngineRun:
    import xtal

    t0 = time.perf_counter()
    res = xtal.refine(pattern, phases, instrument, recipe, progress=progress, **options)
    return EngineRun(res, time.perf_counter() - t0)


def _gsas2(pattern, phases, instrument, recipe, progress, options, prefix: bool) -> EngineRun:
    import xtal
    from xtal.refine.gsas2.engine import FILES, GsasEngine

    scratch = Path(tempfile.mkdtemp(prefix="xtal-gsas2-files-"))
    try:
        t0 = time.perf_counter()
        with GsasEngine(files_to=scratch) as engine:
            res = xtal.refine(pattern, phases, instrument, recipe, engine=engine,
                              progress=_prefixed("GSAS-II", progress) if prefix else progress,
                              **options)
        seconds = time.perf_counter() - t0
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    extras: dict[str, Path | str] = {n: scratch / n for n in FILES if (scratch / n).exists()}
    return EngineRun(res, seconds, extras, scratch=scratch)


def _prefixed(label: str, progress: Progress | None) -> Progress | None:
    if progress is None:
        return None
    return lambda stage, cycle, rwp: progress(f"{label}: {stage}", cycle, rwp)


# -- the comparison ----------------------------------------------------------------------
@dataclass
class Comparison:
    """Side-by-side values of two refinements of the same problem."""

    engines: tuple[str, str]
    rows: list[tuple[str, Value, Value, float | None]]
    summary: list[tuple[str, str, str]]

    def to_markdown(self) -> str:
        a, b = self.engines
        lines = ["## Cross-check: " + f"{a} and {b}", "",
                 "Both engines refined the same pattern, phases, instrument and recipe from "
                 "the same start. Δ/σ is the difference over the combined esd "
                 "sqrt(esd₁² + esd₂²).", "",
                 f"| | {a} | {b} |", "|---|---|---|"]
        lines += [f"| {k} | {u} | {v} |" for k, u, v in self.summary]
        lines += ["", f"| parameter | {a} | {b} | Δ/σ |", "|---|---|---|---|"]
        for name, u, v, z in self.rows:
            lines.append(f"| {name} | {_fmt(u)} | {_fmt(v)} | "
                         f"{'' if z is None else f'{z:+.2f}'} |")
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict:
        return {
            "engines": list(self.engines),
            "summary": [{"quantity": k, self.engines[0]: u, self.engines[1]: v}
                        for k, u, v in self.summary],
            "parameters": [{"name": n, "values": [u.to_json(), v.to_json()], "delta_sigma": z}
                           for n, u, v, z in self.rows],
        }


def compare(a: Result, b: Result, seconds_a: float, seconds_b: float) -> Comparison:
    """Each parameter refined by either result, and the figures of merit, side by side."""
    rows = []
    for name, u in a.parameters.items():
        v = b.parameters.get(name)
        if v is None or (not u.esd and not (v.esd)):
            continue
        rows.append((name, u, v, delta_sigma(u, v)))
    summary = [
        ("engine", a.engine, b.engine),
        ("Rwp (%)", f"{100 * a.rwp:.3f}", f"{100 * b.rwp:.3f}"),
        ("GOF", f"{a.gof:.3f}", f"{b.gof:.3f}"),
        ("refined parameters", str(a.n_parameters), str(b.n_parameters)),
        ("wall time (s)", f"{seconds_a:.1f}", f"{seconds_b:.1f}"),
    ]
    for n, pa in a.phases.items():
        pb = b.phases.get(n)
        if pb is not None:
            summary.append((f"{n} weight fraction", _fmt(pa.weight_fraction),
                            _fmt(pb.weight_fraction)))
            summary.append((f"{n} R_Bragg (%)", f"{100 * pa.r_bragg:.2f}",
                            f"{100 * pb.r_bragg:.2f}"))
    return Comparison((_short(a.engine), _short(b.engine)), rows, summary)


def delta_sigma(u: Value, v: Value) -> float | None:
    """(v − u) / sqrt(esd_u² + esd_v²), None without esds."""
    var = (u.esd or 0.0) ** 2 + (v.esd or 0.0) ** 2
    if var <= 0 or not (math.isfinite(u.value) and math.isfinite(v.value)):
        return None
    return (v.value - u.value) / math.sqrt(var)


def _fmt(v: Value) -> str:
    if v.value is None or not math.isfinite(v.value):
        return "n/a"
    return format_esd(v.value, v.esd)


def _short(engine: str) -> str:
    return engine.split(" ")[0] if engine.startswith("xtal") else engine
