"""Running the real command line from tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_xtal(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m xtal ARGS`` in ``cwd``; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "xtal", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
