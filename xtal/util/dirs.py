"""Where xtal keeps per-user files: the cache and the data directory.

On Linux these follow the XDG Base Directory Specification (freedesktop.org, version
0.8): ``$XDG_CACHE_HOME`` and ``$XDG_DATA_HOME`` when set to an absolute path (a
relative one is to be ignored), else ``~/.cache`` and ``~/.local/share``; with
``xtal`` appended.  That is what ``platformdirs`` answers there (the tests compare
the two); it is worked out here on Linux because importing ``platformdirs`` costs
about 17 ms at every start of ``xtal``, and elsewhere (macOS, Windows) platformdirs
answers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "xtal"


def _xdg(variable: str, default: str) -> Path:
    value = os.environ.get(variable, "").strip()
    base = value if value and os.path.isabs(value) else os.path.expanduser(default)
    return Path(base) / APP


def user_cache_dir() -> Path:
    """The per-user cache directory of xtal (not created here)."""
    if sys.platform.startswith("linux"):
        return _xdg("XDG_CACHE_HOME", "~/.cache")
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP))


def user_data_dir() -> Path:
    """The per-user data directory of xtal (not created here)."""
    if sys.platform.startswith("linux"):
        return _xdg("XDG_DATA_HOME", "~/.local/share")
    import platformdirs

    return Path(platformdirs.user_data_dir(APP))
