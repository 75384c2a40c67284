"""Command-line interface: a thin typer shell over the public API.

Errors from bad input (:class:`xtal.errors.XtalError`) are printed on one line to
stderr and end the program with status 2; ``xtal --debug ...`` shows the traceback.
"""

from __future__ import annotations

import sys
from types import ModuleType

import typer

from xtal.errors import XtalError

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


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``xtal`` script."""
    _register()
    args = sys.argv[1:] if argv is None else argv
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
