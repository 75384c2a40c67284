"""Errors that reach the user as one line.

Every error caused by bad input is an :class:`XtalError` whose message names the
file (when there is one) and what is wrong with it.  The CLI prints ``str(err)``
on one line and exits with status 2; ``--debug`` shows the traceback instead.
What is merely unusual is an :class:`InputWarning` instead, not an error.
"""

from __future__ import annotations

from os import PathLike

#: Longest message text: with the ": " after the path, at most 300 characters besides it.
MAX_MESSAGE = 298


class XtalError(Exception):
    """Bad input or an impossible request, reported to the user in one line.

    Parameters
    ----------
    message
        What is wrong, phrased for the user.
    path
        The file or directory at fault, if any; it is prefixed to the message.
    """

    def __init__(self, message: str, path: str | PathLike[str] | None = None) -> None:
        self.path = None if path is None else str(path)
        text = " ".join(str(message).split())  # keep it on one line
        # ≤ 300 characters besides the path: a message is read, not scrolled
        self.message = text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."
        super().__init__(f"{self.path}: {self.message}" if self.path else self.message)


class InputError(XtalError):
    """A file or value given by the user cannot be used."""


class RefinementError(XtalError):
    """A refinement cannot start or cannot go on (e.g. singular normal matrix)."""


class InputWarning(UserWarning):
    """Something in an input file is unusual but usable (e.g. a slightly negative Uiso).

    Emitted with :func:`warnings.warn`; the reader also keeps the text in the object it
    returns (``Phase.extra['warnings']``, ``Pattern.metadata['warnings']``) so that it
    reaches reports and tables even where warnings are filtered.
    """
