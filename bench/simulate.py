"""Benchmark: time of one full profile pattern, against pymatgen and rietx.

Run with ``make bench`` (or ``.venv/bin/python bench/simulate.py``).  Not a test:
it prints figures, it asserts nothing.

Cases (issue 2):

* PbSO4, ``../shared/data/real/pbso4_cpd_xray``: ``PbSO4-Wyckoff.cif`` with the
  instrument of ``INST_XRY.PRM``, 2θ 10–160° step 0.025° (6000 points), Kα1 + Kα2,
  FCJ asymmetry on.
* Trigonal Na3BS3 (shipped ``Na3BS3-trigonal``), default Cu Kα instrument,
  2θ 10–80° step 0.01°.
* Both again with the Lorentzian terms (X, Y) of the synthetic example's
  ``instrument.instprm``: the two instruments above have X = Y = 0, i.e. Gaussian
  peaks without the long tails the cutoff check is about.

For each case, measured in the same run (median of ``REPEATS`` runs):

* xtal, cached: :class:`~xtal.diffraction.simulate.PhasePattern` built once,
  ``.render(x, instrument, PhaseTerms())`` timed (what a refinement cycle pays when
  no atom parameter changed);
* xtal, uncached: :func:`xtal.diffraction.simulate.simulate` from the Phase
  (reflections and structure factors included);
* pymatgen: ``XRDCalculator().get_pattern(structure, two_theta_range)``, a stick
  pattern (no profile), the reference the issue's ≤ 10 ms target compares to;
* rietx (if it imports): its compiled forward model ``CompiledModel.evaluate``
  (reflections, windows and FCJ nodes frozen at compile time, as ours are in
  ``PhasePattern``) and ``Refinement.predict(two_theta)`` (compile + evaluate).
  rietx refuses ``INST_XRY.PRM`` (non-zero GP term, which GSAS-II drops as well),
  so it is handed the very instrument xtal read, written as a GSAS-II
  ``.instprm`` into a temporary directory.

Area lost to the cutoff: every drawn peak (each reflection at each wavelength) is
rendered alone by :func:`~xtal.diffraction.profile.render_peaks`, together with a
zero-area copy of the pattern's narrowest peak so that it falls in the same width
band as in the full pattern, on a fine grid (Γ/20) reaching ±``SPAN`` FWHM; the
trapezoid integral plus the analytic Lorentzian area beyond ±``SPAN`` FWHM is
compared with the peak's integrated intensity.  Both the default renderer
(analytic tails) and the windowed one (``tails=False``, cut at ±5.5 Γ_b) are
reported.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from xtal.crystal.convert import to_pymatgen
from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.profile import render_peaks, tch
from xtal.diffraction.simulate import PhasePattern, PhaseTerms, simulate
from xtal.io.cif import read_cif
from xtal.io.instprm import format_instprm, read_instrument
from xtal.io.library import load_phase

REPEATS = 25
SPAN = 100.0  # FWHM either side of a peak integrated numerically in the area check
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PBSO4 = SHARED / "real" / "pbso4_cpd_xray"


@dataclass
class Case:
    """One benchmark case and what was measured for it."""

    name: str
    phase: Phase
    instrument: Instrument
    x: np.ndarray
    cif: Path
    times: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    n_reflections: int = 0
    n_peaks: int = 0
    loss_tails: tuple[float, float] = (0.0, 0.0)
    loss_cut: tuple[float, float] = (0.0, 0.0)


def median_time(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Median wall time (s) of ``fn()`` over ``repeats`` runs, after one warm-up."""
    fn()  # warm-up: first-call imports and caches are not what is being measured
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


# -- xtal ------------------------------------------------------------------------------------
def time_xtal(case: Case) -> PhasePattern:
    """Cached render and uncached simulate() times of xtal."""
    terms = PhaseTerms()
    t0 = time.perf_counter()
    calc = PhasePattern(case.phase, case.instrument, float(case.x[-1]))
    case.times["xtal reflection list + |F|² (once)"] = time.perf_counter() - t0
    case.times["xtal profile (cached)"] = median_time(
        lambda: calc.render(case.x, case.instrument, terms)
    )
    case.times["xtal simulate() (uncached)"] = median_time(
        lambda: simulate(case.phase, case.instrument, case.x)
    )
    case.n_reflections = len(calc.reflections)
    return calc


def area_loss(calc: PhasePattern, case: Case, tails: bool) -> tuple[float, float]:
    """Largest fraction of a peak's area lost, and largest |error|, over all drawn peaks.

    Each peak is drawn on its own (plus a zero-area narrowest peak that fixes the
    width bands as in the full pattern), integrated over ±SPAN FWHM and completed
    with the Lorentzian area beyond that, which the renderer could not have drawn
    on this grid either.
    """
    inst = case.instrument
    pk = calc.peaks(inst, PhaseTerms(), float(case.x[0]), float(case.x[-1]))
    gam, eta = tch(pk.fwhm_g, pk.fwhm_l)
    narrow = int(np.argmin(gam))
    case.n_peaks = int(pk.pos.size)
    worst_loss, worst_abs = 0.0, 0.0
    for k in range(pk.pos.size):
        if pk.area[k] <= 0:
            continue
        idx = [k, narrow]
        area = np.array([pk.area[k], 0.0])
        step = gam[k] / 20.0
        half = SPAN * gam[k]
        x = pk.pos[k] + np.arange(-half, half + step / 2, step)
        y = render_peaks(x, pk.select(idx).with_areas(area), tails=tails)
        # Lorentzian of FWHM Γ beyond ±SPAN·Γ: 1 − (2/π)·atan(2·SPAN)
        outside = eta[k] * (1.0 - 2.0 / np.pi * np.arctan(2.0 * SPAN))
        drawn = float(np.trapezoid(y, x)) / pk.area[k] + outside
        worst_loss = max(worst_loss, 1.0 - drawn)
        worst_abs = max(worst_abs, abs(1.0 - drawn))
    return worst_loss, worst_abs


# -- pymatgen --------------------------------------------------------------------------------
def time_pymatgen(case: Case) -> None:
    """pymatgen's stick pattern for the same structure and 2θ range."""
    from pymatgen.analysis.diffraction.xrd import XRDCalculator

    structure = to_pymatgen(case.phase)
    calc = XRDCalculator()  # Cu Kα (weighted mean of Kα1 and Kα2), sticks only
    rng = (float(case.x[0]), float(case.x[-1]))
    case.times["pymatgen sticks"] = median_time(
        lambda: calc.get_pattern(structure, two_theta_range=rng)
    )


# -- rietx -----------------------------------------------------------------------------------
def time_rietx(case: Case, reference: np.ndarray) -> None:
    """rietx's compiled forward model and predict() on the same grid, if rietx imports."""
    try:
        import rietx
        from rietx.model.forward import compile_model
        from rietx.params.vector import ParameterTable
    except ImportError as exc:
        case.notes.append(f"rietx not timed: {exc}")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        structure = rietx.Structure.from_cif(case.cif)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "instrument.instprm")
            # rietx needs the radius as a GSAS-II item; xtal keeps it in a comment line
            lines = [
                line
                for line in format_instprm(case.instrument).splitlines()
                if not line.startswith("#xtal")
            ]
            lines.append(f"Gonio. radius:{case.instrument.radius}")
            Path(path).write_text("\n".join(lines) + "\n")
            instrument = rietx.read_gsas2_instprm(path)
        grid = rietx.PatternData(two_theta=case.x.tolist(), intensity=[0.0] * case.x.size)
        t0 = time.perf_counter()
        model = compile_model(structure, instrument, grid)
        case.times["rietx compile (once)"] = time.perf_counter() - t0
        table = ParameterTable(structure, instrument)
        values = table.decode(table.x0())
        case.times["rietx profile (compiled)"] = median_time(lambda: model.evaluate(values))
        refinement = rietx.Refinement(structure, instrument, history=False)
        case.times["rietx predict() (uncached)"] = median_time(lambda: refinement.predict(case.x))
        y = np.asarray(model.evaluate(values), float)
    # Same case? Compare the normalised curves (form factors and corrections differ a little).
    a, b = reference / reference.max(), y / y.max()
    case.notes.append(
        f"rietx {rietx.__version__}: its pattern differs from xtal's by at most "
        f"{np.abs(a - b).max():.3f} of the highest point (both normalised)"
    )


# -- report ----------------------------------------------------------------------------------
def report(console: Console, cases: list[Case]) -> None:
    """Print the timing table and the area-loss figures."""
    table = Table(title="One full profile pattern: median wall time", show_lines=False)
    table.add_column("case")
    table.add_column("what")
    table.add_column("time (ms)", justify="right")
    table.add_column("vs pymatgen sticks", justify="right")
    table.add_column("vs xtal cached", justify="right")
    for case in cases:
        ref_pmg = case.times.get("pymatgen sticks")
        ref_x = case.times["xtal profile (cached)"]
        first = True
        for what, t in case.times.items():
            table.add_row(
                case.name if first else "",
                what,
                f"{1e3 * t:.2f}",
                f"{t / ref_pmg:.2f}×" if ref_pmg else "–",
                f"{t / ref_x:.2f}×",
            )
            first = False
        table.add_section()
    console.print(table)
    for case in cases:
        console.print(
            f"[bold]{case.name}[/bold]: {case.x.size} points, {case.n_reflections} reflections,"
            f" {case.n_peaks} drawn peaks (Kα1 + Kα2), U V W = {case.instrument.U:g}"
            f" {case.instrument.V:g} {case.instrument.W:g}, X = {case.instrument.X:g},"
            f" Y = {case.instrument.Y:g}, SH/L = {case.instrument.sh_l:g}"
        )
        console.print(
            f"  max area lost to cutoff: {100 * case.loss_tails[0]:.2e} % of a peak's area"
            f" (largest |drawn − integrated| {100 * case.loss_tails[1]:.2e} %)"
            " with analytic tails (default);"
            f" {100 * case.loss_cut[0]:.2e} % if cut at ±5.5 Γ_b (tails=False)"
        )
        t_x = case.times["xtal profile (cached)"]
        t_p = case.times.get("pymatgen sticks")
        if t_p:
            console.print(
                f"  xtal cached profile {1e3 * t_x:.2f} ms vs pymatgen sticks {1e3 * t_p:.2f} ms:"
                f" ratio {t_x / t_p:.2f}"
            )
        t_r = case.times.get("rietx profile (compiled)")
        if t_r:
            console.print(
                f"  xtal cached profile vs rietx compiled evaluate {1e3 * t_r:.2f} ms:"
                f" ratio {t_x / t_r:.2f}"
            )
        for note in case.notes:
            console.print(f"  {note}")


def main() -> int:
    """Run both cases and print the figures."""
    console = Console(width=140)
    if not PBSO4.is_dir():
        console.print(f"reference data not found: {PBSO4}")
        return 1
    start = time.perf_counter()
    cases = [
        Case(
            "PbSO4 (INST_XRY.PRM)",
            read_cif(PBSO4 / "PbSO4-Wyckoff.cif"),
            read_instrument(PBSO4 / "INST_XRY.PRM"),
            10.0 + 0.025 * np.arange(6000),  # GSAS-II keeps NCHAN − 1 = 6000 points
            PBSO4 / "PbSO4-Wyckoff.cif",
        ),
    ]
    tri = load_phase("Na3BS3-trigonal")
    tri_cif = Path(tri.source) if tri.source else Path("structures/Na3BS3_trigonal_P3.cif")
    cases.append(
        Case(
            "Na3BS3 trigonal (Cu Kα default)",
            tri,
            Instrument(),
            10.0 + 0.01 * np.arange(7001),
            tri_cif,
        )
    )
    # Both instruments above have X = Y = 0 (Gaussian peaks, no long tails); repeat each
    # case with the Lorentzian terms of the synthetic data's instrument so that the
    # cutoff check and the timing also cover Lorentzian tails.
    synthetic = SHARED / "synthetic" / "na3bs3_ht200_gsas2" / "instrument.instprm"
    if synthetic.is_file():
        lor = read_instrument(synthetic)
        for base in list(cases):
            inst = base.instrument.replace(X=lor.X, Y=lor.Y, Z=lor.Z)
            cases.append(
                Case(f"{base.name} + X {lor.X:g}, Y {lor.Y:g}", base.phase, inst, base.x, base.cif)
            )
    for case in cases:
        console.print(f"timing {case.name} …")
        calc = time_xtal(case)
        case.loss_tails = area_loss(calc, case, tails=True)
        case.loss_cut = area_loss(calc, case, tails=False)
        time_pymatgen(case)
        time_rietx(case, calc.render(case.x, case.instrument, PhaseTerms()))
    report(console, cases)
    console.print(
        f"({REPEATS} runs per figure after one warm-up; Python {sys.version.split()[0]},"
        f" numpy {np.__version__}; benchmark took {time.perf_counter() - start:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
