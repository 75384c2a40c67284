"""A Result in a notebook (issue 9 item 5): ``_repr_html_``, ``plot()``, ``to_dataframe()``.

Each view is checked against the Result's own numbers (what it must show), and the figure
against ``fit.png``: one drawing for both.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE_RECIPE

from xtal.app.refine import refine
from xtal.refine.result import Result
from xtal.util.esd import format_esd


@pytest.fixture(scope="module")
def result(shared: Path) -> Result:
    root = shared / "synthetic/na3bs3_ht200_gsas2"
    return refine(root / "pattern.xy", ["Na3BS3-trigonal", "Na2S"], root / "instrument.instprm",
                  EXAMPLE_RECIPE, two_theta_range=(20.0, 50.0))


def test_repr_html_shows_r_factors_cells_fractions(result: Result) -> None:
    page = result._repr_html_()
    assert page.startswith("<") and "<table" in page and "<svg" not in page  # no curves
    assert len(page) < 5000
    assert f"{100 * result.rwp:.2f} %" in page and f"GOF {result.gof:.3f}" in page
    for pr in result.phases.values():
        for k in ("a", "c", "volume"):
            assert f"<td>{format_esd(pr.cell[k].value, pr.cell[k].esd)}</td>" in page
        wf = pr.weight_fraction
        assert f"<td>{format_esd(100 * wf.value, 100 * wf.esd)}</td>" in page
        assert f"<td>{100 * pr.r_bragg:.2f}</td>" in page
    assert "wt% (of crystalline part)" in page
    assert "degree of crystallinity from areas" in page  # the recipe refines a halo


def test_parameters_dataframe_equals_the_parameters(result: Result) -> None:
    df = result.to_dataframe()
    assert isinstance(df, pd.DataFrame)
    assert list(df.index) == list(result.parameters)
    assert list(df.columns) == ["value", "esd", "refined"]
    for name, v in result.parameters.items():
        row = df.loc[name]
        assert row["value"] == v.value
        assert (math.isnan(row["esd"]) if v.esd is None else row["esd"] == v.esd)
        assert bool(row["refined"]) == bool(v.esd)
    # what the recipe refines: cells and scales yes, a special position no
    assert df.loc["phases.Na2S.cell.a", "refined"]
    assert not df.loc["phases.Na2S.sites.Na1.x", "refined"]
    assert df["refined"].sum() >= result.n_parameters  # constrained ones carry esds too


def test_phases_dataframe(result: Result) -> None:
    df = result.to_dataframe("phases")
    assert list(df.index) == list(result.phases)
    for name, pr in result.phases.items():
        assert df.loc[name, "a"] == pr.cell["a"].value
        assert df.loc[name, "a_esd"] == pr.cell["a"].esd
        assert df.loc[name, "wt_percent"] == pytest.approx(100 * pr.weight_fraction.value)
        assert df.loc[name, "r_bragg_percent"] == pytest.approx(100 * pr.r_bragg)
        assert not df.loc[name, "le_bail"]
    assert df["wt_percent"].sum() == pytest.approx(100.0)
    refl = result.to_dataframe("reflections")
    na2s = refl[refl["phase"] == "Na2S"]
    assert list(na2s["i_obs"]) == result.phases["Na2S"].reflections["i_obs"]
    sites = result.to_dataframe("sites")
    assert set(sites["site"][sites["phase"] == "Na2S"]) == set(result.phases["Na2S"].sites)
    with pytest.raises(ValueError, match="parameters"):
        result.to_dataframe("curves")


def test_plot_is_the_figure_of_fit_png(result: Result) -> None:
    from matplotlib.figure import Figure

    from xtal.io.plots import fit_pictures

    fig = result.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    observed = next(line for line in ax.lines if line.get_label() == "observed")
    np.testing.assert_array_equal(observed.get_ydata(), result.curves.observed)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for name, pr in result.phases.items():
        wf = pr.weight_fraction
        assert f"{name} ({format_esd(100 * wf.value, 100 * wf.esd)} wt%)" in labels
    corner = " ".join(t.get_text() for t in ax.texts)
    assert f"{100 * result.rwp:.2f} %" in corner and "crystalline part" in corner
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=150)
    assert png.getvalue() == fit_pictures(result)[0]  # the same drawing as fit.png
