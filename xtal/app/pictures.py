"""The Rietveld figure drawn in a second process while this one refines.

Importing matplotlib and drawing ``fit.png`` and the SVG of ``report.html`` take
about as long as a small refinement, and neither needs the other until the end.
:class:`PictureWorker` starts ``python -m xtal.app.pictures`` at once; the child
imports matplotlib while the parent reads the files and refines, then receives the
:class:`~xtal.refine.result.Result` (pickled, on its stdin) and sends back
:func:`xtal.io.plots.fit_pictures` (pickled, on its stdout) while the parent writes
the other files; the child draws the PNG while a forked copy of it draws the SVG
(:func:`split_pictures`).  The pictures are the same bytes as when drawn in-process.

If the child cannot be started, fails or sends something unreadable, the parent
draws the pictures itself, so the outputs never depend on the second process; the
child is ended with the parent.  The second process only pays when it has a core of
its own: a process allowed one CPU draws in-process from the start
(:func:`worker_wanted`; ``XTAL_PICTURE_WORKER=0`` or ``1`` decides instead).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xtal.refine.result import Result

#: Seconds to wait for the child's pictures before drawing them here instead.
TIMEOUT = 300.0
ENV = "XTAL_PICTURE_WORKER"


def worker_wanted() -> bool:
    """Whether a second process can be expected to find a core of its own.

    ``XTAL_PICTURE_WORKER=0`` says no and ``=1`` yes; otherwise yes when this process
    may use two or more CPUs.  Not the load average: it lags by a minute (a run that
    follows another sees that one's load) and the machine's load does not change the
    work: matplotlib is imported and the figure drawn once either way, in one process
    or the other; the child only adds an interpreter start (≈ 0.03 s).
    """
    forced = os.environ.get(ENV, "").strip().lower()
    if forced in ("0", "1"):
        return forced == "1"
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return cpus >= 2


class PictureWorker:
    """A child process that draws the Rietveld figure of one result (a context manager)."""

    def __init__(self, enabled: bool | None = None) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._enabled = worker_wanted() if enabled is None else enabled

    def __enter__(self) -> PictureWorker:
        if not self._enabled:
            return self
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "xtal.app.pictures"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            )
        except OSError:
            self._proc = None  # drawn in-process instead
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()  # not needed any more (bad input, an error, or already done)
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def submit(self, result: Result) -> Callable[[], tuple[bytes, str]]:
        """Send ``result`` to the child; the returned function waits for its pictures."""
        proc = self._proc
        if proc is None:
            return lambda: _draw_here(result)
        try:
            assert proc.stdin is not None
            proc.stdin.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            proc.stdin.close()
        except OSError:  # the child is gone
            return lambda: _draw_here(result)

        def wait() -> tuple[bytes, str]:
            answer: list[bytes] = []
            reader = threading.Thread(target=_read_all, args=(proc.stdout, answer), daemon=True)
            reader.start()
            reader.join(TIMEOUT)
            if reader.is_alive():  # stuck: end it and draw here
                proc.kill()
            if proc.wait() != 0 or not answer:
                return _draw_here(result)
            data = answer[0]
            try:
                png, svg = pickle.loads(data)
            except Exception:  # unreadable answer: draw here rather than fail
                return _draw_here(result)
            return png, svg

        return wait


def _draw_here(result: Result) -> tuple[bytes, str]:
    from xtal.io.plots import fit_pictures

    return fit_pictures(result)


def _read_all(stream: IO[bytes], into: list[bytes]) -> None:
    into.append(stream.read())


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The child: read a pickled Result, answer with the pickled ``(png, svg)``."""
    received: list[bytes] = []
    # read while importing: the parent's write must not wait for matplotlib
    reader = threading.Thread(target=_read_all, args=(stdin, received), daemon=True)
    reader.start()
    from xtal.io.plots import fit_pictures, new_figure

    new_figure((1, 1))  # imports matplotlib (figure, Agg)
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.backends.backend_svg  # noqa: F401

    import xtal.refine.result  # noqa: F401  (to unpickle the Result)

    if reader.is_alive():  # idle until the result comes: pay the first drawing's costs now
        _warm_up()
    reader.join()
    if not received or not received[0]:
        return  # the parent ended without a result
    result: Any = pickle.loads(received[0])
    pictures = split_pictures(result) if hasattr(os, "fork") else fit_pictures(result)
    stdout.write(pickle.dumps(pictures, protocol=pickle.HIGHEST_PROTOCOL))
    stdout.flush()


def _warm_up() -> None:
    """Draw a small Rietveld figure to PNG and throw it away.

    A process's first drawing loads fonts, builds the mathtext parser ($R_{wp}$) and
    the glyph caches (≈ 0.15 s); done while the parent still refines, the real
    figure is drawn with them ready.  Not to SVG as well: the real SVG took as long
    after this as after a throw-away SVG too (PbSO4: 118–122 ms either way), and the
    CPU it would cost here is taken from the refinement beside it.
    """
    import numpy as np

    from xtal.io.plots import png_bytes
    from xtal.util.figures import rietveld_figure

    x = np.linspace(10.0, 80.0, 200)
    y = 100.0 + 1000.0 * np.exp(-((x - 40.0) / 0.2) ** 2)
    fig = rietveld_figure(x, y, y, np.full_like(x, 100.0), [("phase (100.0 wt%)", x[::50])],
                          ["$R_{wp}$ = 1.00 %", "GOF = 1.00"], "alert")
    png_bytes(fig)


def split_pictures(result: Result) -> tuple[bytes, str]:
    """:func:`xtal.io.plots.fit_pictures`, the SVG drawn by a forked copy of this process
    while this one draws the PNG (the parent is only writing small files by then).  On
    this project's 2-CPU machine the CPUs slow each other: side by side each picture
    takes about 1.5× as long as alone (PbSO4: 0.21–0.25 s for both, against 0.22–0.30 s
    one after the other), so the gain is a few hundredths of a second, not half.

    POSIX only (``os.fork``).  Call it only from a process of one thread (the child
    of :class:`PictureWorker`): a fork copies no other thread.  If the copy fails,
    the SVG is drawn here, after the PNG.
    """
    from xtal.io.plots import fit_figure, png_bytes
    from xtal.util.figures import figure_svg

    fig = fit_figure(result)  # laid out once, before the fork: both copies draw the same
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy: SVG into the pipe, then leave without any clean-up
        status = 1
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as out:
                out.write(figure_svg(fig).encode("utf-8"))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    png = png_bytes(fig)
    with os.fdopen(read_end, "rb") as answer:
        svg = answer.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not svg:
        return png, figure_svg(fig)
    return png, svg.decode("utf-8")


if __name__ == "__main__":
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer)
    except BaseException:  # quietly: the parent then draws in-process and reports any error
        sys.exit(1)
    # the answer is flushed and nothing else is open: leave at once, since the parent reads
    # until this end of the pipe closes and tearing the interpreter down takes ≈ 0.2 s
    os._exit(0)
