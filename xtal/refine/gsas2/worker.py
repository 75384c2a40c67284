"""The GSAS-II worker process: ``python -m xtal.refine.gsas2.worker LOGFILE``.

GSAS-II runs in a process of its own so that

* its console output — Python prints and the Fortran routines' writes to file
  descriptor 1 — goes to LOGFILE, never to the user's terminal;
* its working directory is the scratch directory of the run (GSAS-II adds the
  current directory to ``sys.path`` on import and writes its ``.lst`` and backup
  files next to the project), never the user's;
* its module-level state (``GSASIImapvars`` constraint tables, loaded importers)
  belongs to one project only.

Requests and replies are pickled tuples on the process's stdin and on a duplicate of
its original stdout: ``(command, keywords)`` in; ``("progress", cycle, Rwp)`` during a
refinement, then ``("ok", value)``, ``("input", message)`` or ``("error", message)``.
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback


def _reply(stream, *message) -> None:
    pickle.dump(message, stream, protocol=pickle.HIGHEST_PROTOCOL)
    stream.flush()


def _start(workdir: str, spec: dict, sequential: dict | None = None):
    import GSASII.GSASIIscriptable as G2sc

    from xtal.refine.gsas2.session import Session

    G2sc.SetPrintLevel("warn")
    if sequential is None:
        session = Session(spec, workdir)
    else:  # a series for GSAS-II's sequential refinement (xtal.refine.gsas2.sequential)
        from xtal.refine.gsas2.sequential import SeqSession

        session = SeqSession(spec, workdir, **sequential)
    return session, {"version": _version(), "values": session.values(),
                     "seconds": getattr(session, "seconds", None)}


def _version() -> str:
    try:
        from GSASII import git_verinfo

        return str(git_verinfo.git_versiontag).lstrip("v")
    except (ImportError, AttributeError):
        return "unknown"


def serve(requests, replies) -> None:
    """Answer requests until ``close`` or end of input."""
    from xtal.errors import XtalError

    session = None
    while True:
        try:
            command, kw = pickle.load(requests)
        except EOFError:
            return
        try:
            if command == "close":
                _reply(replies, "ok", None)
                return
            if command == "start":
                session, value = _start(**kw)
            else:
                if command == "refine":
                    kw["report"] = lambda cycle, rwp: _reply(replies, "progress", cycle, rwp)
                value = getattr(session, command)(**kw)
            _reply(replies, "ok", value)
        except XtalError as exc:
            _reply(replies, "input", exc.message)
        except Exception as exc:  # reported to the caller; the traceback goes to the log
            traceback.print_exc()
            _reply(replies, "error", f"{type(exc).__name__}: {exc}")


def main() -> None:
    log = open(sys.argv[1], "ab", buffering=0)  # noqa: SIM115 (held for the process' life)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(log.fileno(), 1)  # Python prints and Fortran writes alike go to the log
    os.dup2(log.fileno(), 2)
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
