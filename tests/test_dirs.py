"""xtal's per-user directories are platformdirs' answers (the reference)."""

from __future__ import annotations

import platformdirs
import pytest

from xtal.util.dirs import user_cache_dir, user_data_dir


@pytest.mark.parametrize("value", [None, "", "   ", "/tmp/xdg-base", "relative/dir", "~/c"])
def test_same_as_platformdirs(value: str | None, monkeypatch) -> None:
    for var in ("XDG_CACHE_HOME", "XDG_DATA_HOME"):
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)
    assert str(user_cache_dir()) == platformdirs.user_cache_dir("xtal")
    assert str(user_data_dir()) == platformdirs.user_data_dir("xtal")
