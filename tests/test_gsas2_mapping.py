"""xtal ↔ GSAS-II vocabulary and units, and what the GSAS-II engine refuses (no GSAS-II needed).

References: the reciprocal metric tensor of xtal's Cell (checked against pymatgen
elsewhere) for GSAS-II's A terms A = (G*11, G*22, G*33, 2G*12, 2G*13, 2G*23)
(GSAS-II documentation, ``GSASIIlattice.cell2A``); B = 8π²U; the native engine's
parameter vocabulary; site symmetry from the space group.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from xtal.crystal.cell import Cell
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError
from xtal.io.library import load_phase
from xtal.refine.gsas2 import constraints, plan
from xtal.refine.gsas2.names import Layout, a_from_cell, cell_from_a
from xtal.refine.gsas2.seam import Problem
from xtal.refine.parameters import parse_constraint
from xtal.refine.recipe import load_recipe, parse_recipe

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("cell", [(3.9034, 3.9034, 7.4187, 90, 90, 120),
                                  (8.48, 5.398, 6.958, 90, 90, 90),
                                  (5.1, 6.2, 7.3, 90, 103.5, 90),
                                  (5.1, 6.2, 7.3, 81.0, 97.5, 110.25)])
def test_a_terms_are_the_reciprocal_metric(cell):
    gs = Cell(*cell).reciprocal_metric
    a = a_from_cell(cell)
    want = [gs[0, 0], gs[1, 1], gs[2, 2], 2 * gs[0, 1], 2 * gs[0, 2], 2 * gs[1, 2]]
    assert a == pytest.approx(want, rel=1e-12, abs=1e-15)
    back = cell_from_a(a)
    assert back[:6] == pytest.approx(cell, rel=1e-12)
    assert back[6] == pytest.approx(Cell(*cell).volume, rel=1e-12)


def _problem(names=("Na3BS3-trigonal", "Na2S"), recipe="na3bs3", inst=None) -> Problem:
    x = np.linspace(10, 80, 50)
    phases = tuple(load_phase(n) for n in names)
    return Problem(Pattern(x, np.ones_like(x)), phases, inst or Instrument(), load_recipe(recipe))


def test_offered_paths_are_the_native_engines():
    from xtal.refine.model import Data, HaloSpec, RietveldModel

    pb = _problem()
    native = RietveldModel(Data(pb.pattern.x, pb.pattern.y, pb.pattern.esd()), list(pb.phases),
                           pb.instrument, pb.recipe.chebyshev,
                           [HaloSpec(h.position, h.fwhm) for h in pb.recipe.halos])
    assert plan.layout_of(pb).offered() == native.params.names


def test_values_survive_the_round_trip_through_gsas2_units():
    layout = plan.layout_of(_problem())
    g = _g(layout)
    x = layout.to_xtal(g)
    x.update({"phases.Na2S.scale": 3.2e-4, "phases.Na2S.cell.a": 6.5399,
              "phases.Na2S.cell.b": 6.5399, "phases.Na2S.cell.c": 6.5399,
              "phases.Na3BS3-trigonal.sites.B1.biso": 1.25, "phases.Na2S.size": 0.0,
              "background.halo.0.fwhm": 11.77, "background.halo.0.area": 15015.0})
    g2 = {**g, **layout.to_gsas(x, g)}
    back = layout.to_xtal(g2)
    for k, v in x.items():
        assert back[k] == pytest.approx(v, rel=1e-10, abs=1e-12), k
    # units: B = 8π²U, area = GSAS-II intensity / 100, S = f / (100 V) with S_h = 1
    assert g2["0::AUiso:4"] == pytest.approx(1.25 / (8 * np.pi**2))
    assert g2[":0:BkPkint;0"] == pytest.approx(1501500.0)
    assert g2["1:0:Scale"] == pytest.approx(3.2e-4 * 100 * 6.5399**3)


def _g(layout: Layout) -> dict[str, float]:
    """GSAS-II values as a freshly built project holds them (cells from the phases)."""
    pb = _problem()
    g = {":0:" + k: v for k, v in {"Zero": 0.0, "U": 2.0, "V": -2.0, "W": 5.0, "X": 0.0,
                                   "Y": 0.0, "Z": 0.0, "SH/L": 0.002, "Shift": 0.0,
                                   "Scale": 1.0}.items()}
    g.update({f":0:Back;{i}": 0.0 for i in range(layout.n_chebyshev)})
    g.update({":0:BkPkpos;0": 30.0, ":0:BkPkint;0": 100.0, ":0:BkPksig;0": 1.8e5,
              ":0:BkPkgam;0": 0.0})
    for pid, p in enumerate(pb.phases):
        g.update({f"{pid}::A{i}": v for i, v in enumerate(a_from_cell(p.cell.parameters))})
        for i, s in enumerate(p.sites):
            g.update({f"{pid}::A{k}:{i}": v for k, v in zip("xyz", s.xyz, strict=True)})
            g[f"{pid}::Afrac:{i}"], g[f"{pid}::AUiso:{i}"] = s.occupancy, s.u_iso
        g.update({f"{pid}:0:Scale": 1.0, f"{pid}:0:MD": 1.0, f"{pid}:0:Size;i": 1e6,
                  f"{pid}:0:Mustrain;i": 0.0})
    return g


def test_constraints_become_gsas2_constraints():
    pb = _problem()
    layout = plan.layout_of(pb)
    names = layout.offered()
    cons = []
    for text in pb.recipe.constraints:
        cons += parse_constraint(text.replace("{trigonal}", "Na3BS3-trigonal"), names)
    refine = [n for n in names if n.endswith((".occ", ".biso"))]
    out = constraints.gsas_constraints(layout, _g(layout), cons, refine)
    occ = [c for c in out if c[0] == "c"]
    assert occ == [("c", pytest.approx(2 / 3), ["0::Afrac:4", "0::Afrac:5"], [1.0, 1.0])]
    equal = sorted(tuple(c[1]) for c in out if c[0] == "e")
    assert equal == [("0::AUiso:0", "0::AUiso:1"), ("0::AUiso:2", "0::AUiso:3"),
                     ("0::AUiso:4", "0::AUiso:5")]
    # a constraint on a stage's unrefined parameters is not passed on
    assert constraints.gsas_constraints(layout, _g(layout), cons, ["phases.Na2S.scale"]) == []


@pytest.mark.parametrize("text, why", [
    ("phases.Na2S.cell.a = phases.Na3BS3-trigonal.cell.a", "not linear"),
    ("phases.Na2S.sites.S1.biso = instrument.W", "mixes"),
])
def test_inexpressible_constraints_are_refused_in_one_line(text, why):
    pb = _problem()
    layout = plan.layout_of(pb)
    (c,) = parse_constraint(text, layout.offered())
    with pytest.raises(InputError, match=why) as err:
        constraints.gsas_constraints(layout, _g(layout), [c], list(c.coefficients))
    assert "\n" not in str(err.value) and len(str(err.value)) <= 300


def test_bérar_baldinozzi_and_neutron_data_are_refused_before_anything_runs():
    pb = _problem(inst=Instrument(asy1=0.1))
    with pytest.raises(InputError, match="Bérar–Baldinozzi"):
        plan.check(pb, plan.layout_of(pb).offered())
    rec = parse_recipe({"stage": [{"name": "asym", "refine": ["instrument.asy1"]}]})
    pb = Problem(_problem().pattern, _problem().phases, Instrument(), rec)
    with pytest.raises(InputError, match="asy1"):
        plan.check(pb, plan.layout_of(pb).offered())
    pb = _problem(inst=Instrument(radiation="neutron"))
    with pytest.raises(InputError, match="X-ray"):
        plan.check(pb, plan.layout_of(pb).offered())


def test_flags_hold_what_one_gsas2_flag_would_move_but_the_stage_leaves_out(shared):
    phase = load_phase(shared / "real/pbso4_cpd_xray/PbSO4-Wyckoff.cif")
    x = np.linspace(16, 158, 50)
    pb = Problem(Pattern(x, np.ones_like(x)), (phase,), Instrument(), load_recipe("standard"))
    layout = plan.layout_of(pb)
    n = phase.name
    want = ["background.chebyshev.0", "background.chebyshev.1",
            f"phases.{n}.sites.O3.x", f"phases.{n}.sites.Pb.x", f"phases.{n}.sites.Pb.z",
            f"phases.{n}.cell.a"]
    flags, holds = plan.flags(layout, pb, want)
    assert flags["background"] and flags["phases"][0]["cell"]
    # Chebyshev terms 2–5; O3 (general position) y and z; Pb (x, ¼, z) nothing (y is
    # fixed by the mirror); the orthorhombic cell's b and c
    assert sorted(holds) == sorted(
        [f":0:Back;{i}" for i in range(2, 6)] + ["0::dAy:4", "0::dAz:4", "0::A1", "0::A2"])
    assert flags["phases"][0]["atoms"][0] == "X" and flags["phases"][0]["atoms"][1] == ""


def test_a_site_tied_by_symmetry_is_held_when_a_tied_coordinate_is_not_refined(shared):
    rb = load_phase(shared / "real/rbnb2o5f_empyrean/RbNb2O5F.cif")
    rb_site = next(s for s in rb.sites if s.label == "Rb1")  # 32e (x, x, x)
    assert plan._coordinate_holds(rb, rb_site, {"x"}) == ["x"]
    assert plan._coordinate_holds(rb, rb_site, {"x", "y", "z"}) == []


class _Problem:
    def __init__(self, phase):
        self.phases = (phase,)


def test_polar_origin_is_held_only_when_every_polar_coordinate_refines():
    tri = load_phase("Na3BS3-trigonal")  # P3: z of every site is free
    (c,) = [c for c in constraints.auto_constraints(_Problem(tri)) if "origin" in c.origin]
    assert c.only_if_all_refined
    assert set(c.coefficients) == {f"phases.{tri.name}.sites.{s.label}.z" for s in tri.sites}
    assert c.rhs == pytest.approx(sum(s.xyz[2] for s in tri.sites))
    assert constraints.auto_constraints(_Problem(load_phase("Na2S"))) == []


def test_mixed_sites_move_as_one(shared):
    rb = load_phase(shared / "real/rbnb2o5f_empyrean/RbNb2O5F.cif")
    cons = [c for c in constraints.auto_constraints(_Problem(rb)) if "mixed" in c.origin]
    pre = "phases.RbNb2O5F.sites."
    assert any(c.coefficients == {pre + "O1.x": 1.0, pre + "F1.x": -1.0} and c.rhs == 0.0
               for c in cons)
    occ = [c for c in cons if pre + "O1.occ" in c.coefficients]
    assert occ and occ[0].rhs == pytest.approx(1.0)


def test_only_the_gsas2_package_imports_gsas2():
    """GSAS-II is imported nowhere in xtal but xtal/refine/gsas2 (issue 8, boundaries)."""
    offenders = []
    for path in (ROOT / "xtal").rglob("*.py"):
        if (ROOT / "xtal/refine/gsas2") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [node.module or ""]
            if any(m == "GSASII" or m.startswith("GSASII.") for m in mods):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_without_gsas2_the_engine_says_how_to_install_it(monkeypatch):
    from xtal.refine import gsas2
    from xtal.refine.gsas2 import client

    monkeypatch.setattr(client, "gsas2_available", lambda: False)
    with pytest.raises(InputError, match="make gsas2") as err:
        gsas2.require_gsas2()
    assert "\n" not in str(err.value) and len(str(err.value)) <= 300
    import xtal

    with pytest.raises(InputError, match="make gsas2"):
        xtal.refine("no-such-file.xy", ["Na2S"], engine="gsas2")


@pytest.mark.parametrize("args", [
    ["refine", "data.xy", "--phase", "Na2S", "--out", "out", "--engine", "gsas2"],
    ["refine", "data.xy", "--phase", "Na2S", "--out", "out", "--engine", "both"],
    ["simulate", "Na2S", "--out", "sim.xy", "--engine", "gsas2"],
])
def test_cli_without_gsas2_ends_in_one_line_saying_how_to_install_it(
    args, monkeypatch, tmp_path, capsys
):
    from xtal.cli import main
    from xtal.refine.gsas2 import client

    monkeypatch.setattr(client, "gsas2_available", lambda: False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as ended:
        main(args)
    assert ended.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "make gsas2" in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing written
