"""The xtal side of the GSAS-II worker process (:mod:`xtal.refine.gsas2.worker`)."""

from __future__ import annotations

import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xtal.errors import InputError, RefinementError

INSTALL_HINT = (
    "GSAS-II is not installed in this Python: run 'make gsas2' in the xtal directory, or "
    "pip install \"GSAS-II @ git+https://github.com/AdvancedPhotonSource/GSAS-II@v5.7.9\" "
    "(needs gfortran)"
)
LOG_NAME = "gsas2.log"


def gsas2_available() -> bool:
    """True if the GSAS-II package can be imported (it is not imported here)."""
    return importlib.util.find_spec("GSASII") is not None


def require_gsas2() -> None:
    """A one-line :class:`InputError` saying how to install GSAS-II when it is missing."""
    if not gsas2_available():
        raise InputError(INSTALL_HINT)


class Worker:
    """A GSAS-II worker process with its own scratch directory (removed by :meth:`close`).

    The scratch directory holds the project (``gsas2.gpx``), GSAS-II's listing
    (``gsas2.lst``) and its console output (``gsas2.log``).
    """

    def __init__(self) -> None:
        require_gsas2()
        self.workdir = Path(tempfile.mkdtemp(prefix="xtal-gsas2-"))
        self.log = self.workdir / LOG_NAME
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "xtal.refine.gsas2.worker", str(self.log)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                cwd=self.workdir,
                env={**os.environ, "PYTHONPATH": _pythonpath()},
            )

    def call(self, command: str, progress: Callable[[int, float], None] | None = None,
             **kw: Any) -> Any:
        """Send one request; relay progress reports; return the reply's value."""
        if self.proc.poll() is not None:
            raise RefinementError(f"the GSAS-II process has ended (see {self.log})")
        try:
            pickle.dump((command, kw), self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.flush()  # type: ignore[union-attr]
            while True:
                kind, *payload = pickle.load(self.proc.stdout)  # type: ignore[arg-type]
                if kind != "progress":
                    break
                if progress is not None:
                    progress(*payload)
        except (EOFError, BrokenPipeError, pickle.UnpicklingError):
            raise RefinementError(f"GSAS-II stopped unexpectedly (see {self.log})") from None
        if kind == "ok":
            return payload[0]
        if kind == "input":
            raise InputError(f"GSAS-II: {payload[0]}")
        raise RefinementError(f"GSAS-II failed: {payload[0]} (details in {self.log})")

    def file(self, name: str) -> Path:
        """A file of the scratch directory (``gsas2.gpx``, ``gsas2.lst``, ``gsas2.log``)."""
        return self.workdir / name

    def close(self) -> None:
        """End the process and remove the scratch directory."""
        if self.proc.poll() is None:
            try:
                self.call("close")
                self.proc.wait(timeout=10)
            except (RefinementError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __del__(self) -> None:
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()


def _pythonpath() -> str:
    """This xtal first on the worker's path (it may run from a source tree)."""
    here = str(Path(__file__).resolve().parents[3])
    rest = os.environ.get("PYTHONPATH", "")
    return here + (os.pathsep + rest if rest else "")
