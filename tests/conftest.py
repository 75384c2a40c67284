"""Shared fixtures."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only reference data directory ``../shared/data`` (see its README)."""
    return Path(__file__).resolve().parents[2] / "shared" / "data"
