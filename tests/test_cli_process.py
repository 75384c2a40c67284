"""The ``xtal`` script's process settings (``xtal.cli.run``): a lazier cycle collector
while the command runs, and the heap frozen on the way out, also when the command exits
with an error status; ``xtal.cli.main`` (called in-process by tests and scripts) leaves
both alone."""

from __future__ import annotations

import gc

import pytest

from xtal import cli


@pytest.fixture
def thresholds():
    old = gc.get_threshold()
    yield old
    gc.set_threshold(*old)


@pytest.mark.parametrize("exit_code", [None, 2])
def test_script_entry_collects_lazily_and_freezes_on_exit(monkeypatch, thresholds, exit_code):
    calls: list = []

    def fake_main() -> None:
        calls.append(("main", gc.get_threshold()))
        if exit_code is not None:
            raise SystemExit(exit_code)

    monkeypatch.setattr(cli, "main", fake_main)
    monkeypatch.setattr(cli.gc, "freeze", lambda: calls.append("freeze"))
    if exit_code is None:
        cli.run()
    else:
        with pytest.raises(SystemExit) as stop:
            cli.run()
        assert stop.value.code == exit_code
    assert calls[0][0] == "main" and calls[0][1][0] > 100 * thresholds[0]
    assert calls[-1] == "freeze"


def test_main_leaves_the_collector_alone(thresholds, capsys):
    cli.main(["--help"])
    assert gc.get_threshold() == thresholds
    assert "refine" in capsys.readouterr().out
