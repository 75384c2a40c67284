"""The refinement job of ``xtal refine`` and ``make demo``: files in, result directory out.

:func:`run_refinement` validates every input (pattern, phases, instrument, recipe,
range, output directory) before it computes or writes anything, refines with a live
progress display on stderr, and writes the output directory atomically
(:func:`xtal.io.refine_output.write_refinement`, with the analysis sections of
``report.html`` from :mod:`xtal.app.reports`).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from xtal.errors import InputError, XtalError

if TYPE_CHECKING:
    from xtal.app.pictures import PictureWorker


@dataclass(frozen=True)
class RefineRequest:
    """Everything ``xtal refine`` was asked to do (paths and names as the user gave them)."""

    data: Path
    phases: tuple[str, ...]
    out: Path
    instrument: Path | None = None
    recipe: str | None = None
    two_theta_range: tuple[float, float] | None = None
    exclude: tuple[tuple[float, float], ...] = ()
    fix: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    fcj: str | None = None  # None: the recipe's
    force: bool = False
    engine: str = "native"
    le_bail: tuple[str, ...] = ()
    internal_standard: str | None = None
    roles: tuple[tuple[str, str], ...] = ()
    start: Path | None = None  # warm start from an earlier result (directory or result.json)


def run_refinement(req: RefineRequest, command: str, console: Console | None = None):
    """Validate, refine, write the output directory; return ``(result, outputs)``.

    The shared path of ``xtal refine`` and ``make demo``.  Raises
    :class:`~xtal.errors.InputError` (before anything is written) on bad input.
    """
    from xtal.app.pictures import PictureWorker

    # first of all: a second process imports matplotlib (and draws fit.png at the end)
    # while this one imports the rest, reads and refines; on bad input it is ended unused
    with PictureWorker() as worker:
        return _refine_and_write(req, command, console, worker)


def _refine_and_write(req: RefineRequest, command: str, console: Console | None,
                      worker: PictureWorker):
    """:func:`run_refinement` with its picture process running."""
    from threadpoolctl import threadpool_limits

    from xtal.app.cross_check import ENGINES, refine_with
    from xtal.app.refine import le_bail_phase
    from xtal.io.instprm import read_instrument
    from xtal.io.library import load_phase
    from xtal.io.patterns import read_one
    from xtal.io.refine_output import check_output_dir, format_log, write_refinement
    from xtal.refine.recipe import load_recipe
    from xtal.util.memory import keep_freed_memory

    keep_freed_memory()  # this process refines: keep its large arrays (util.memory)
    err = console or Console(stderr=True)
    started = _dt.datetime.now().astimezone()
    # -- validate everything first: nothing is computed in vain, nothing half-written
    if req.engine not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}, not '{req.engine}'")
    if req.engine != "native":
        from xtal.refine.gsas2 import require_gsas2

        require_gsas2()
    if req.fcj is not None:
        from xtal.diffraction.fcj import check_fcj

        check_fcj(req.fcj)
    if req.two_theta_range is not None and not req.two_theta_range[0] < req.two_theta_range[1]:
        raise InputError(f"--range {req.two_theta_range[0]:g} {req.two_theta_range[1]:g}:"
                         " LO must be below HI")
    for lo, hi in req.exclude:
        if not lo < hi:
            raise InputError(f"--exclude {lo:g} {hi:g}: LO must be below HI")
    if not req.phases and not req.le_bail:
        raise InputError("give at least one --phase or --le-bail")
    check_output_dir(req.out, req.force)
    start = None
    if req.start is not None:
        from xtal.refine.result import Result

        start = Result.load(req.start)
    pattern = read_one(req.data)
    phases = [load_phase(p) for p in req.phases]
    le_bail = [le_bail_phase(p) for p in req.le_bail]
    instrument = read_instrument(req.instrument) if req.instrument is not None else None
    recipe = _load_recipe(load_recipe, req.recipe)

    if req.two_theta_range is not None or req.exclude:
        lo, hi = req.two_theta_range or (None, None)
        pattern.select(lo, hi, list(req.exclude))  # raises if no points are left

    # -- refine, with stage / cycle / Rwp on stderr.  The display starts with the first
    # cycle, so an error found while the model is set up stays a one-line message.
    bar = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                   TextColumn("cycle {task.fields[cycle]}"),
                   TextColumn("Rwp {task.fields[rwp]}"), TimeElapsedColumn(), console=err)
    tasks: list = []

    def progress(stage: str, cycle: int, rwp: float) -> None:
        if not tasks:
            bar.start()
            tasks.append(bar.add_task(stage, cycle="-", rwp="-"))
        bar.update(tasks[0], description=stage, cycle=str(cycle), rwp=f"{100 * rwp:.3f} %")

    try:
        # one BLAS thread, as the series fits run (app.series_exec.fit_one): the
        # matrices are points × parameters, too small to gain from threads, and a
        # second BLAS thread competes with the picture process for the other core
        with threadpool_limits(limits=1):
            run = refine_with(req.engine, pattern, phases, instrument, recipe,
                              two_theta_range=req.two_theta_range,
                              exclude=list(req.exclude), fix=list(req.fix),
                              constraints=list(req.constraints), fcj=req.fcj,
                              le_bail=le_bail, internal_standard=req.internal_standard,
                              roles=dict(req.roles) or None, start=start,
                              progress=progress)
    finally:
        if tasks:
            bar.stop()
    finished = _dt.datetime.now().astimezone()
    with run:
        result = run.result
        pictures = worker.submit(result)  # first: the picture process starts drawing now
        # imported only now (spglib, ring search): while the picture process draws, this
        # one has time to spare; before the fit they would delay it
        from xtal.app.reports import analysis_sections

        outputs = write_refinement(result, req.out, force=req.force,
                                   log_text=format_log(result, command, started, finished),
                                   report_sections=analysis_sections,
                                   pictures=pictures, extras=run.extras,
                                   report_extra=run.report_extra)
    return result, outputs


def _load_recipe(load_recipe, name: str | None):
    # a recipe with a table missing a required key is bad input, not a crash
    try:
        return load_recipe(name)
    except XtalError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"recipe is malformed ({type(exc).__name__}: {exc})", name) from None


def summary_table(result) -> Table:
    """Cells, weight fractions (saying of what) and R_Bragg of each phase, Rwp in the title;
    the amorphous part, crystallinity and a refined displacement (with its radius) below."""
    from xtal.io.report_md import format_value as _v
    from xtal.refine.result_text import (
        WT_CRYSTALLINE,
        WT_SAMPLE,
        amorphous_line,
        crystallinity_line,
        displacement_text,
        has_sample_fractions,
        phase_wt,
        phase_wt_of_sample,
    )

    sample = has_sample_fractions(result)
    notes = [amorphous_line(result), crystallinity_line(result)]
    disp = result.parameters.get("instrument.displacement")
    if disp is not None and disp.esd:
        notes.append(displacement_text(result))
    table = Table(title=f"Rwp = {100 * result.rwp:.2f} %   GOF = {result.gof:.2f}"
                        f"   ({result.n_points} points, {result.n_parameters} parameters)",
                  caption="\n".join(n for n in notes if n) or None, caption_justify="left")
    columns = ["phase", "a (Å)", "b (Å)", "c (Å)", "α β γ (°)", "V (Å³)", WT_CRYSTALLINE]
    for col in columns + ([WT_SAMPLE] if sample else []) + ["R_Bragg (%)"]:
        table.add_column(col, justify="left" if col == "phase" else "right")
    for name, pr in result.phases.items():
        c = pr.cell
        row = [name, _v(c["a"]), _v(c["b"]), _v(c["c"]),
               " ".join(_v(c[k]) for k in ("alpha", "beta", "gamma")), _v(c["volume"]),
               phase_wt(pr)]
        table.add_row(*row, *([phase_wt_of_sample(result, name)] if sample else []),
                      f"{100 * pr.r_bragg:.2f}")
    return table
