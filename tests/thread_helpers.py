"""Probing the BLAS/OpenMP thread pools a function runs with (threadpoolctl)."""

from __future__ import annotations

from typing import Any

import pytest


def blas_threads() -> list[int]:
    """The thread count of every BLAS/OpenMP pool loaded in this process."""
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info()]


def stop_recording_threads(monkeypatch: pytest.MonkeyPatch, target: Any,
                           name: str) -> list[list[int]]:
    """Replace ``target.name`` by a stand-in that records :func:`blas_threads` when called
    and then stops the caller with ``InputError("stop here")``; returns the records."""
    from xtal.errors import InputError

    seen: list[list[int]] = []

    def stand_in(*args: Any, **kwargs: Any) -> None:
        seen.append(blas_threads())
        raise InputError("stop here")

    monkeypatch.setattr(target, name, stand_in)
    return seen
