"""Shared fixtures."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only reference data directory ``../shared/data`` (see its README)."""
    return Path(__file__).resolve().parents[2] / "shared" / "data"


#: the na3bs3 recipe with the zero refined, for the bundled example (its README says why)
EXAMPLE_RECIPE = str(
    Path(__file__).resolve().parents[1] / "refinements/examples/na3bs3_ht200_gsas2/recipe.toml"
)
