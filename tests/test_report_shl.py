"""report.md states which SH/L a refinement used and where it came from (issue 7, item 5).

An old GSAS .prm holds S/L and H/L in its profile record; xtal reads them, GSAS-II
ignores them and uses SH/L = 0.002 (physics.md §5), so the report must say which.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from xtal.app.refine import refine
from xtal.io.instprm import read_instrument
from xtal.io.report_md import format_report, sh_l_note
from xtal.refine.result import Value


@pytest.fixture(scope="module")
def result(shared):
    d = shared / "synthetic" / "na3bs3_ht200_gsas2"
    return refine(d / "pattern.xy", ["Na3BS3-trigonal", "Na2S"], d / "instrument.instprm",
                  "na3bs3", two_theta_range=(20.0, 50.0))


def test_instprm_source_is_named(result):
    note = sh_l_note(result)
    assert note.startswith("SH/L = 0.02 (fixed), from the instrument file `instrument.instprm`")
    assert "GSAS-II ignores" not in note
    assert note in format_report(result)


def test_gsas_prm_source_carries_the_gsas2_caveat(result, shared):
    prm = shared / "real/pbso4_cpd_xray/INST_XRY.PRM"
    inst = read_instrument(prm)  # SH/L = S/L + H/L of the profile record
    note = sh_l_note(replace(result, instrument=inst))
    assert note.startswith(f"SH/L = {inst.sh_l:g} (fixed), from the instrument file `INST_XRY.PRM`")
    assert "an old GSAS .prm" in note and "GSAS-II ignores them" in note and "0.002" in note


def test_default_and_refined_sh_l(result):
    inst = replace(result.instrument, source=None, sh_l=0.002)
    assert "no instrument file was given" in sh_l_note(replace(result, instrument=inst))
    params = dict(result.parameters, **{"instrument.sh_l": Value(0.0213, 0.0011)})
    inst = replace(result.instrument, sh_l=0.0213)
    note = sh_l_note(replace(result, instrument=inst, parameters=params))
    assert note.startswith("SH/L = 0.0213(11) (refined)")
