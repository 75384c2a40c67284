"""The public API reads as the architecture names it: xtal.load_phase, xtal.refine, …"""

from __future__ import annotations

import numpy as np

import xtal


def test_top_level_names_resolve():
    for name in (
        "load_phase",
        "read_pattern",
        "simulate",
        "refine",
        "compare",
        "symmetry",
        "rings",
        "export_cif",
        "Instrument",
        "Phase",
        "Pattern",
        "Result",
    ):
        assert getattr(xtal, name) is not None, name
    assert callable(xtal.refine)


def test_refine_through_the_package(shared):
    root = shared / "synthetic/na3bs3_ht200_gsas2"
    res = xtal.refine(
        root / "pattern.xy", ["Na3BS3-trigonal", "Na2S"], root / "instrument.instprm", "na3bs3"
    )
    assert isinstance(res, xtal.Result)
    # the cubic angle is fixed by symmetry: a value but no esd
    assert res.phases["Na2S"].cell["alpha"].esd is None
    assert res.phases["Na2S"].cell["a"].esd > 0
    pattern = xtal.simulate(xtal.load_phase("Na2S"), xtal.Instrument(), (20.0, 40.0, 0.02))
    assert np.all(np.isfinite(pattern.y))


def test_refine_entry_introspects_like_a_function():
    """``help``/``inspect`` on ``xtal.refine`` show the real signature; a missing
    attribute is an AttributeError (``hasattr`` False), never an import error."""
    import inspect

    from xtal.app.refine import refine as entry

    assert inspect.signature(xtal.refine) == inspect.signature(entry)
    assert not hasattr(xtal.refine, "no_such_module")
    assert not hasattr(xtal.refine, "__wrapped__")
    assert xtal.refine.engine.__name__ == "xtal.refine.engine"  # the package's modules
