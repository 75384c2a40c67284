"""B–S rings: exact regular rings for the Table 1 average structure, distorted rings for a
hand-built √3×√3 ordered supercell (checked against geometry computed here), errors."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from xtal.analysis import rings
from xtal.crystal.cell import Cell
from xtal.crystal.phase import Phase, Site
from xtal.crystal.spacegroup import SpaceGroup
from xtal.errors import InputError
from xtal.io.cif import read_cif

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TABLE1 = DATA / "structures" / "Na3BS3_trigonal_P3_table1.cif"
A, C = 3.901, 7.422


@pytest.fixture(scope="module")
def table1() -> Phase:
    return read_cif(TABLE1)


def test_table1_rings_are_regular(table1: Phase) -> None:
    rep = rings(table1)
    assert rep.stacking_hkl in ((0, 0, 1), (0, 0, -1))
    assert sorted(round(layer.height, 6) for layer in rep.layers) == [0.0, 0.5]
    for layer in rep.layers:
        # a honeycomb has as many ring centres as ligands
        assert layer.n_rings == layer.n_ligands == 1
    assert len(rep.rings) == 2
    edge = A / np.sqrt(3)  # S–B(site) distance in the P3 cell
    for ring in rep.rings:
        assert ring.distortion_index <= 1e-8
        assert ring.angle_variance <= 1e-8
        assert ring.shape_measure <= 1e-8
        np.testing.assert_allclose(ring.edges, edge, rtol=1e-9)
        np.testing.assert_allclose(ring.angles, 120.0, atol=1e-8)
        assert [lab[0] for lab in ring.labels] == ["S", "B"] * 3
    assert len(rep.units) == 2
    for unit in rep.units:
        np.testing.assert_allclose(unit.bond_lengths, edge, rtol=1e-9)
        np.testing.assert_allclose(unit.angles, 120.0, atol=1e-8)
        assert unit.out_of_plane <= 1e-8
    rep.to_json()  # JSON-able


# -- a hand-built ordered √3×√3 supercell --------------------------------------------------
SUPER = np.array([[2, 1, 0], [-1, 1, 0], [0, 0, 1]])  # new axes in old-axis units, det 3
SHIFT = 0.2  # Å, each S toward its B


def _old_matrix() -> np.ndarray:
    return Cell(A, A, C, 90, 90, 120).matrix


def _ordered_structure() -> tuple[Phase, dict]:
    """P1 √3×√3 cell: B on the sites with (n1 + n2) ≡ 0 (mod 3), S moved toward their B."""
    m = _old_matrix()
    layers = {0.0: ((0, 0), (1 / 3, 2 / 3)), 0.5: ((1 / 3, 2 / 3), (0, 0))}  # z: S, B site
    inv = np.linalg.inv(SUPER.astype(float))
    big = SUPER @ m
    s_old, b_old, na_old = [], [], []
    for n1, n2 in itertools.product(range(-4, 5), repeat=2):
        for z, (s, b) in layers.items():
            s_old.append((s[0] + n1, s[1] + n2, z))
            if (n1 + n2) % 3 == 0:
                b_old.append((b[0] + n1, b[1] + n2, z))
        na_old += [(2 / 3 + n1, 1 / 3 + n2, 0.2467), (2 / 3 + n1, 1 / 3 + n2, 0.7468)]

    def inside(old: tuple) -> bool:
        f = np.asarray(old) @ inv
        return bool(np.all((np.round(f, 9) >= 0) & (np.round(f, 9) < 1)))

    b_cart = np.array(b_old) @ m
    displaced = {}
    for s in s_old:
        r = np.asarray(s) @ m
        d = np.linalg.norm(b_cart - r, axis=1)
        k = int(np.argmin(d))
        assert np.sum(d < d[k] + 0.1) == 1  # exactly one B neighbour per S
        displaced[tuple(np.round(s, 6))] = r + SHIFT * (b_cart[k] - r) / d[k]
    sites = []
    for el, pts in (("Na", na_old), ("B", b_old)):
        for p in filter(inside, pts):
            sites.append(Site(f"{el}{len(sites) + 1}", el, tuple(np.asarray(p) @ inv), 1.0, 1.0))
    for s in filter(inside, s_old):
        frac = displaced[tuple(np.round(s, 6))] @ np.linalg.inv(big)
        sites.append(Site(f"S{len(sites) + 1}", "S", tuple(frac), 1.0, 1.0))
    cell = Cell(*_cell_params(big))
    phase = Phase("ordered", cell, SpaceGroup.from_symbol("P 1"), tuple(sites))
    return phase, {"displaced": displaced, "b_old": b_old, "m": m, "big": big}


def _cell_params(big: np.ndarray) -> tuple[float, ...]:
    a, b, c = np.linalg.norm(big, axis=1)

    def ang(u: np.ndarray, v: np.ndarray) -> float:
        return float(np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))))

    return (a, b, c, ang(big[1], big[2]), ang(big[0], big[2]), ang(big[0], big[1]))


def _expected_rings(info: dict) -> list[tuple[float, float]]:
    """Δ and angle variance of every ring of the supercell from the explicit coordinates."""
    m, displaced = info["m"], info["displaced"]
    occupied = {tuple(np.round(b, 6)) for b in info["b_old"]}
    inv = np.linalg.inv(SUPER.astype(float))
    out = []
    # ring centre = the third honeycomb-free point of the triangular net in each layer
    for z, s0, b0 in ((0.0, (0.0, 0.0), (1 / 3, 2 / 3)), (0.5, (1 / 3, 2 / 3), (0.0, 0.0))):
        h0 = (-(s0[0] + b0[0]) % 1.0, -(s0[1] + b0[1]) % 1.0)  # the three positions sum to 0
        for n1, n2 in itertools.product(range(-2, 3), repeat=2):
            centre = np.array([h0[0] + n1, h0[1] + n2, z])
            f = centre @ inv
            if not np.all((np.round(f, 9) >= 0) & (np.round(f, 9) < 1)):
                continue
            verts = []
            for d1, d2 in itertools.product(range(-1, 2), repeat=2):
                for base, kind in ((s0, "S"), (b0, "B")):
                    p = np.array([base[0] + d1 + n1, base[1] + d2 + n2, z])
                    if abs(np.linalg.norm((p - centre) @ m) - A / np.sqrt(3)) < 1e-6:
                        verts.append((p, kind))
            assert len(verts) == 6
            pts = []
            for p, kind in verts:
                if kind == "S":
                    pts.append(displaced[tuple(np.round(p, 6))])
                elif tuple(np.round(p, 6)) in occupied:
                    pts.append(p @ m)
                else:  # vacant site: centroid of its three (displaced) S
                    tri = [
                        q
                        for q in displaced
                        if abs(q[2] - z) < 1e-9
                        and abs(np.linalg.norm((np.array(q) - p) @ m) - A / np.sqrt(3)) < 1e-4
                    ]
                    assert len(tri) == 3
                    pts.append(np.mean([displaced[q] for q in tri], axis=0))
            pts = np.array(pts)
            mid = pts.mean(axis=0)
            pts = pts[np.argsort(np.arctan2(pts[:, 1] - mid[1], pts[:, 0] - mid[0]))]
            lengths = np.linalg.norm(np.roll(pts, -1, 0) - pts, axis=1)
            u, v = np.roll(pts, -1, 0) - pts, np.roll(pts, 1, 0) - pts
            phi = np.degrees(
                np.arccos(np.sum(u * v, 1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1))
            )
            delta = np.mean(np.abs(lengths - lengths.mean())) / lengths.mean()
            out.append((delta, np.sum((phi - 120) ** 2) / 5))
    return sorted(out)


def test_ordered_supercell_rings_match_explicit_geometry() -> None:
    phase, info = _ordered_structure()
    assert phase.formula == "BNa3S3"
    rep = rings(phase)
    expected = _expected_rings(info)
    assert len(expected) == 6
    got = sorted((r.distortion_index, r.angle_variance) for r in rep.rings)
    assert len(got) == len(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    assert min(d for d, _ in got) > 1e-3 and min(v for _, v in got) > 1.0
    assert all(r.shape_measure > 1e-3 for r in rep.rings)
    assert sum(lab == "vacant" for r in rep.rings for lab in r.labels) == 12
    for layer in rep.layers:
        assert layer.n_rings == layer.n_ligands == 3
    np.testing.assert_allclose([u.bond_lengths[0] for u in rep.units], A / np.sqrt(3) - SHIFT)


def test_shape_measure_matches_numerical_minimum() -> None:
    from scipy.optimize import minimize
    from scipy.spatial.transform import Rotation

    from xtal.analysis.rings import shape_measure

    rng = np.random.default_rng(1)
    ang = np.radians(np.arange(6) * 60.0)
    q = np.column_stack([np.cos(ang), np.sin(ang), np.zeros(6)]) * 2.2
    q += rng.normal(scale=0.15, size=q.shape)
    qc = q - q.mean(0)
    hexagon = np.column_stack([np.cos(ang), np.sin(ang), np.zeros(6)])

    def f(p: np.ndarray) -> float:
        ref = p[3] * Rotation.from_rotvec(p[:3]).apply(hexagon)
        return float(np.sum((qc - ref) ** 2))

    best = min(
        (
            minimize(
                f,
                np.r_[rng.normal(size=3), 2.0],
                method="Nelder-Mead",
                options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000},
            )
            for _ in range(8)
        ),
        key=lambda r: r.fun,
    )
    assert shape_measure(q) == pytest.approx(100 * best.fun / np.sum(qc**2), rel=1e-5)


# -- errors ---------------------------------------------------------------------------------
def test_no_boron_or_sulfur(table1: Phase) -> None:
    no_b = table1.with_sites([s for s in table1.sites if s.element != "B"])
    with pytest.raises(InputError, match="no B atoms"):
        rings(no_b)
    with pytest.raises(InputError, match="no Se atoms"):
        rings(table1, ligand="Se")


def test_no_layers() -> None:
    sites = [Site("B1", "B", (0, 0, 0))] + [
        Site(f"S{i}", "S", tuple(0.3 * np.eye(3)[i])) for i in range(3)
    ]
    phase = Phase("pyramid", Cell(5, 5, 5), SpaceGroup.from_symbol("P 1"), tuple(sites))
    with pytest.raises(InputError, match="no B–S layers") as err:
        rings(phase)
    assert "\n" not in str(err.value)


def test_overlapping_atoms(table1: Phase) -> None:
    bad = table1.with_sites(list(table1.sites) + [Site("S3", "S", (0, 0, 0.02), 1.0, 1.0)])
    with pytest.raises(InputError, match="overlap") as err:
        rings(bad)
    assert "\n" not in str(err.value)


def test_cli_rings(monkeypatch, capsys) -> None:
    import json

    import xtal.cli as cli

    def register() -> None:
        from xtal.cli import analysis_cmd  # noqa: F401

    monkeypatch.setattr(cli, "_register", register)
    cli.main(["rings", str(TABLE1), "--json", "--center", "B", "--ligand", "S"])
    data = json.loads(capsys.readouterr().out)
    assert len(data["rings"]) == 2 and data["max_distortion_index"] <= 1e-8
    with pytest.raises(SystemExit) as stop:
        cli.main(["rings", str(TABLE1), "--center", "P"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "no P atoms" in err and "\n" not in err
