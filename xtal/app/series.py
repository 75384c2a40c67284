"""``xtal series`` / :func:`refine_series`: one recipe over many patterns.

Modes
-----
``sequential`` (GSAS-II's sequential refinement)
    Patterns in order of a metadata column (the sample temperature when every file
    states one, else as given); each starts from the previous pattern's result and
    refines everything the recipe's stages add up to, at once (the first pattern goes
    through the stages one by one).  A
    pattern whose fit fails or stops does not seed the next: the next starts from the
    last pattern that refined to the end (or from the start).  With more than one
    worker the ordered series is cut into as many contiguous chunks: the first
    pattern is refined first (the reference fit), the first pattern of every other
    chunk starts from the reference fit — its cells first searched within ±1 % for the
    best match (:func:`xtal.refine.strategy.search_cells`), as it may lie far along the
    series — and each chunk then runs sequentially, in parallel with the others.  Where
    a chunk begins, its start is the reference rather than its neighbour;
    ``tests/test_series.py`` shows the results agree with the strictly serial run
    (``--workers 1``) within 1 esd.
``independent``
    Every pattern from the same start (the model, or ``--start RESULT_DIR``), all in
    parallel.

Nothing is lost: each pattern's result directory is written (atomically, as
``xtal refine`` writes it) the moment its fit ends; rerunning the same command skips
patterns whose ``result.json`` exists (``--force`` refits them); an interrupted series
keeps every finished pattern; a failed fit is a row with its reason.
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xtal.app.series_exec import Executor, FitJob, FitOutcome
from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError
from xtal.refine.recipe import Recipe, load_recipe
from xtal.refine.result import Result
from xtal.refine.strategy import start_values

PathLike = str | os.PathLike[str]
MODES = ("sequential", "independent")
CHUNK_CELL_SEARCH = 0.01  # ± relative cell span searched where a chunk starts (series.py doc)


@dataclass(frozen=True)
class SeriesPattern:
    """One pattern of a series: its label (the output directory's name) and metadata."""

    label: str
    source: str
    pattern: Pattern
    metadata: dict[str, Any]
    given: tuple[str, ...] = ()  # metadata keys that came from --metadata FILE.csv


@dataclass
class SeriesResult:
    """The rows of a series in order, with what became of each pattern."""

    patterns: list[SeriesPattern]
    outcomes: dict[str, FitOutcome]
    order_by: str | None = None
    mode: str = "sequential"
    directory: Path | None = None
    files: list[Path] = field(default_factory=list)

    def results(self) -> dict[str, Result]:
        """label → Result for every pattern that has one."""
        return {k: o.result for k, o in self.outcomes.items() if o.result is not None}

    def to_dataframe(self):
        """One row per pattern: file, metadata, status, Rwp, GOF, refined values with esds."""
        from xtal.app.series_table import series_dataframe

        return series_dataframe(self)

    def _repr_html_(self) -> str:
        return self.to_dataframe()._repr_html_()

    def plot(self, x: str | None = None):
        """The trend figure (cells, volume, weight fractions, Rwp) as a matplotlib Figure."""
        from xtal.io.series_output import trend_figure

        return trend_figure(self.to_dataframe(), x or self.order_by)


def expand_inputs(data: Sequence[PathLike | Pattern]) -> list[str | Pattern]:
    """Files, ``PATH#N`` scans and shell patterns (``OH_*.fxye``), in the order given."""
    out: list[str | Pattern] = []
    for item in data:
        if isinstance(item, Pattern):
            out.append(item)
            continue
        text = str(item)
        if any(c in text for c in "*?[") and not Path(text).exists():
            hits = sorted(glob.glob(text))
            if not hits:
                raise InputError(f"'{text}' matches no file")
            out += hits
        else:
            out.append(text)
    if not out:
        raise InputError("no patterns given")
    return out


def read_metadata_csv(path: PathLike) -> dict[str, dict[str, Any]]:
    """``--metadata FILE.csv``: first column a file name (or stem), the others its values."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read metadata: {exc}", path) from None
    if len(rows) < 2 or len(rows[0]) < 2:
        raise InputError("metadata CSV needs a header and a file-name column", path)
    head = rows[0]
    out = {}
    for n, row in enumerate(rows[1:], 2):
        if not row:
            continue
        if len(row) != len(head):
            raise InputError(f"line {n}: {len(row)} fields, header has {len(head)}", path)
        out[Path(row[0]).name] = {k: _number(v) for k, v in zip(head[1:], row[1:], strict=True)}
    return out


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def load_series(
    data: Sequence[PathLike | Pattern], metadata: PathLike | None = None
) -> list[SeriesPattern]:
    """Read every pattern of the series (one scan each, ``PATH#N`` to choose)."""
    from xtal.util.names import unique_names

    items = expand_inputs(data)
    extra = read_metadata_csv(metadata) if metadata is not None else {}
    pats = [p if isinstance(p, Pattern) else _read(p) for p in items]
    sources = [p.source or p.name if isinstance(i, Pattern) else str(i)
               for i, p in zip(items, pats, strict=True)]
    stems = [Path(s.split("#")[0]).stem or f"pattern{k}" for k, s in enumerate(sources)]
    labels = unique_names(stems)
    out = []
    for label, src, pat in zip(labels, sources, pats, strict=True):
        meta = {k: v for k, v in pat.metadata.items() if isinstance(v, int | float | str)}
        name = Path(src.split("#")[0]).name
        given = extra.get(name, extra.get(Path(name).stem, {}))
        meta.update(given)
        out.append(SeriesPattern(label, src, pat, meta, tuple(given)))
    return out


def _read(spec: str) -> Pattern:
    from xtal.io.patterns import read_one

    return read_one(spec)


def order_series(
    pats: list[SeriesPattern], order_by: str | None, mode: str
) -> tuple[list[SeriesPattern], str | None]:
    """Patterns in the order to refine them, and the column that gave it."""
    if order_by is None and mode == "sequential":
        if all(isinstance(p.metadata.get("temperature_K"), float | int) for p in pats):
            order_by = "temperature_K"
    if order_by is None:
        return pats, None
    missing = [p.label for p in pats if not isinstance(p.metadata.get(order_by), int | float)]
    if missing:
        raise InputError(
            f"--order-by {order_by}: no numeric value for {', '.join(missing[:3])}"
            + (" …" if len(missing) > 3 else "")
        )
    return sorted(pats, key=lambda p: p.metadata[order_by]), order_by


def refine_series(
    data: Sequence[PathLike | Pattern],
    phases: Sequence[Phase | PathLike],
    instrument: Instrument | PathLike | None = None,
    recipe: Recipe | PathLike | None = None,
    *,
    mode: str = "sequential",
    out: PathLike | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    chunks: int | None = None,
    start: Result | Mapping[str, float] | PathLike | None = None,
    metadata: PathLike | None = None,
    order_by: str | None = None,
    force: bool = False,
    plots: bool = False,
    engine: str = "native",
    options: Mapping[str, Any] | None = None,
    on_outcome: Callable[[FitOutcome, int, int], None] | None = None,
) -> SeriesResult:
    """Refine every pattern of a series with one recipe (module docstring).

    Parameters
    ----------
    data
        Pattern files (``PATH#N`` for one scan of a file), shell patterns, or Patterns.
    phases, instrument, recipe
        As for :func:`xtal.refine`, the same for every pattern.
    mode
        ``"sequential"`` or ``"independent"``.
    out
        Output directory: one result directory per pattern, ``series.csv``,
        ``series.parquet``, ``series.png`` and ``series.html``.  None keeps it all in
        memory.
    workers
        Local worker processes (a Dask ``LocalCluster``); 1 runs here, serially.
    scheduler
        Address of a running Dask scheduler; its workers run the fits.
    chunks
        Sequential mode: contiguous chunks run in parallel (default: one per worker).
    start
        Start values: a Result, its directory, or a mapping (default: the models).
    metadata
        CSV mapping file names to extra columns (e.g. temperature set-points).
    order_by
        Metadata column that orders a sequential series (default ``temperature_K``).
    force
        Refit patterns that already have a ``result.json`` under ``out``.
    plots
        Also write ``fit.png`` and ``report.html`` for every pattern.
    engine
        ``"native"`` or ``"gsas2"``.
    options
        Further keywords of :func:`xtal.refine.api.refine_values` (``two_theta_range``,
        ``exclude``, ``fix``, ``constraints``, ``fcj`` …).
    on_outcome
        Called as ``on_outcome(outcome, done, total)`` when a pattern is finished.
    """
    from xtal.app.refine import _instrument, _phase, _start

    if mode not in MODES:
        raise InputError(f"--mode must be one of {', '.join(MODES)}, not '{mode}'")
    if workers < 1:
        raise InputError("--workers must be at least 1")
    pats, order_by = order_series(load_series(data, metadata), order_by, mode)
    loaded = tuple(_phase(p) for p in phases)
    inst = _instrument(instrument)
    rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    first = _start(start)
    first_values = start_values(first) if first is not None else None
    out_dir = Path(out) if out is not None else None
    series = SeriesResult(pats, {}, order_by, mode, out_dir)
    writer = _Writer(out_dir, force, plots, series)
    done = writer.resume()

    def job(p: SeriesPattern, seed: FitOutcome | None, head: bool = False) -> FitJob:
        values = start_values(seed.result) if seed is not None and seed.result else first_values
        opts = dict(options or {})
        if head:  # a chunk starts from the reference fit, possibly far along the series
            opts.setdefault("cell_search", CHUNK_CELL_SEARCH)
        if seed is not None and seed.result is not None and mode == "sequential":
            # copy-forward: everything the recipe refines, at once, from the neighbour's values
            opts.setdefault("last_stage_only", True)
        return FitJob(p.label, p.pattern, loaded, inst, rec, values,
                      seed.label if seed is not None else None, opts, engine)

    with Executor(workers, scheduler) as ex:
        try:
            if mode == "independent":
                _independent(pats, done, ex, job, writer, on_outcome)
            else:
                _sequential(pats, done, ex, job, writer, on_outcome, chunks or ex.slots)
        finally:
            writer.finish()
    return series


def _independent(pats, done, ex: Executor, job, writer, on_outcome) -> None:
    todo = [p for p in pats if p.label not in done]
    for p in todo:
        ex.submit(job(p, None))
    while ex.running():
        for outcome in ex.next_done():
            writer.record(outcome, on_outcome)


def _sequential(pats, done, ex: Executor, job, writer, on_outcome, n_chunks: int) -> None:
    n = max(1, min(n_chunks, len(pats)))
    size = -(-len(pats) // n)
    chains = [pats[k : k + size] for k in range(0, len(pats), size)]
    seeds: list[FitOutcome | None] = [None] * len(chains)
    position = [0] * len(chains)
    waiting_for_reference = list(range(1, len(chains)))
    reference: FitOutcome | None = None

    def advance(c: int) -> None:
        """Submit chain c's next pattern (or take a resumed one) until one is in flight."""
        nonlocal reference
        while position[c] < len(chains[c]):
            p = chains[c][position[c]]
            if p.label in done:
                outcome = done[p.label]
                position[c] += 1
                if outcome.usable:
                    seeds[c] = outcome
                if c == 0 and position[c] == 1:
                    reference = outcome
                    release()
                continue
            ex.submit(job(p, seeds[c], head=c > 0 and position[c] == 0))
            return

    def release() -> None:
        # chains after the first start from the reference fit once it exists
        while waiting_for_reference:
            c = waiting_for_reference.pop(0)
            if reference is not None and reference.usable:
                seeds[c] = reference
            advance(c)

    chain_of = {p.label: c for c, chain in enumerate(chains) for p in chain}
    advance(0)
    if position[0] >= len(chains[0]) or (reference is not None):
        release()
    while ex.running():
        for outcome in ex.next_done():
            writer.record(outcome, on_outcome)
            c = chain_of[outcome.label]
            position[c] += 1
            if outcome.usable:
                seeds[c] = outcome
            if c == 0 and position[0] == 1:
                reference = outcome
                release()
            advance(c)


class _Writer:
    """Records outcomes and writes each pattern's directory the moment it is finished."""

    def __init__(self, out: Path | None, force: bool, plots: bool, series: SeriesResult):
        self.out, self.force, self.plots, self.series = out, force, plots, series
        self.total = len(series.patterns)

    def resume(self) -> dict[str, FitOutcome]:
        """Outcomes of patterns a previous run finished (unless ``force``)."""
        if self.out is None or self.force:
            return {}
        found = {}
        for p in self.series.patterns:
            path = self.out / p.label / "result.json"
            if path.is_file():
                res = Result.load(path)
                found[p.label] = FitOutcome(p.label, res, None, 0.0, "resumed")
        self.series.outcomes.update(found)
        return found

    def record(self, outcome: FitOutcome, on_outcome) -> None:
        self.series.outcomes[outcome.label] = outcome
        if self.out is not None and outcome.result is not None:
            from xtal.app.series_table import write_pattern_dir

            write_pattern_dir(outcome, self.out / outcome.label, self.plots)
        if on_outcome is not None:
            on_outcome(outcome, len(self.series.outcomes), self.total)

    def finish(self) -> None:
        if self.out is not None and self.series.outcomes:
            from xtal.app.series_table import write_series_files

            self.series.files = write_series_files(self.series, self.out)
