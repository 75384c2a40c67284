"""Command-line interface: a thin typer shell over the public API.

Errors from bad input (:class:`xtal.errors.XtalError`) are printed on one line to
stderr and end the program with status 2; ``xtal --debug ...`` shows the traceback.
Ctrl-C ends any command with status 130 (128 + SIGINT, the shell's convention) and the
line ``xtal: interrupted``; outputs are written atomically, so none is left half-written.
What readers find unusual but usable (:class:`xtal.errors.InputWarning`) is printed as
one line, ``xtal: warning: ...``.
"""

from __future__ import annotations

import gc
import signal
import sys
import threading
import warnings
from types import ModuleType

import typer

from xtal.errors import InputWarning, XtalError

INTERRUPTED = 130  # 128 + SIGINT

app = typer.Typer(
    name="xtal",
    help="xtal: crystallography and Rietveld-refinement workbench.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_STATE = {"debug": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors.")) -> None:
    """xtal: crystallography and Rietveld-refinement workbench."""
    _STATE["debug"] = debug


def _register() -> None:
    # Command modules add themselves to ``app`` on import.
    from xtal.cli import (  # noqa: F401
        analysis_cmd,
        compare_cmd,
        refine_cmd,
        series_cmd,
        simulate_cmd,
        structures_cmd,
    )


class Interrupted(BaseException):
    """Ctrl-C.  Not a KeyboardInterrupt, so that no library on the way turns it into
    something else (typer makes a KeyboardInterrupt an exit status it returns, which a
    caller with ``standalone_mode=False`` would drop); cleanup code (``finally``,
    ``except BaseException``) runs as for any exception."""


def _on_sigint(signum: int, frame: object) -> None:
    raise Interrupted


def _one_line_warnings(default):
    """A ``warnings.showwarning``: InputWarnings as one line, the rest as ``default`` shows them."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if issubclass(category, InputWarning):
            print(f"xtal: warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``xtal`` script."""
    args = sys.argv[1:] if argv is None else argv
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _on_sigint) if in_main_thread else None
    shown = warnings.showwarning
    warnings.showwarning = _one_line_warnings(shown)
    try:
        _run(args)
    except (Interrupted, KeyboardInterrupt):
        if "--debug" in args:
            raise
        print("xtal: interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        warnings.showwarning = shown


def run() -> None:
    """The ``xtal`` script (and ``python -m xtal``): :func:`main` with a lazier cycle
    collector, then a quick way out.

    On the way out the interpreter frees what is left and the cycle collector walks
    every object once more (≈ 0.15 s after a refinement, more than the outputs take
    to write).  Nothing left needs that walk: files are closed and written atomically,
    atexit handlers and finalizers still run.  ``gc.freeze`` moves all objects out of
    the collector's sight; only for a process that ends here, so not in :func:`main`,
    which tests and scripts call in a process that goes on.
    """
    # a short-lived process whose objects mostly live to its end: the cycle collector
    # runs over a hundred times less often (it spent ≈ 0.07 s in ~150 passes of a
    # refinement; mypy's command line sets the same kind of threshold)
    gc.set_threshold(100_000, 50, 100)
    try:
        main()
    finally:
        gc.freeze()


def _run(args: list[str]) -> None:
    _register()
    debug = "--debug" in args
    try:
        app(args=args, standalone_mode=False)
    except XtalError as err:
        if debug:
            raise
        print(f"xtal: error: {err}", file=sys.stderr)
        sys.exit(2)
    except SystemExit:
        raise
    except Exception as err:  # click usage errors and the like
        exceptions = _click_exceptions()
        if isinstance(err, exceptions.ClickException):
            err.show()
            sys.exit(2)
        abort = getattr(exceptions, "Abort", None)  # not every vendored click has it
        if abort is not None and isinstance(err, abort):
            sys.exit(1)
        raise


def _click_exceptions() -> ModuleType:
    # typer ≥ 0.20 vendors click as ``typer._click`` and no longer installs ``click``
    try:
        from click import exceptions
    except ImportError:
        from typer._click import exceptions
    return exceptions
