"""Consoles for the tables the commands print.

On a terminal rich fits a table to the window.  Into a pipe or a file rich would
assume 80 columns and wrap or cut long phase names; there the console is made wide
enough for any table (a table takes only the width it needs), so that names and
values are kept whole.
"""

from __future__ import annotations

from rich.console import Console

#: width (characters) of the console when the output is not a terminal
PIPE_WIDTH = 400


def table_console(stderr: bool = False) -> Console:
    """A console for tables: the terminal's width, or :data:`PIPE_WIDTH` in a pipe or file."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=PIPE_WIDTH)
    return console
