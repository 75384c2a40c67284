"""``xtal.crystal.elements``: xraydb's numbers, cached on disk, bit for bit.

The reference is xraydb itself, called directly: symbols, molar masses, f0 of every
neutral atom on a grid of sinθ/λ, and f′, f″ at the Cu Kα1/Kα2 energies must be equal
to the last bit whether they come from a cold cache (built in this process), a warm
one (read by a process that never imports xraydb) or no cache at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xraydb

from xtal.crystal import elements
from xtal.diffraction.instrument import CU_KA1, CU_KA2

HC = 12398.419843320026  # eV·Å, as xtal.diffraction.scattering
S = np.linspace(0.0, 2.0, 201)  # sinθ/λ (Å⁻¹), beyond the Cu Kα limit of 0.65
ENERGIES = (HC / CU_KA1, HC / CU_KA2)
ANOMALOUS = ("H", "B", "O", "Na", "S", "P", "Fe", "Pb", "U")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(elements.CACHE_ENV, str(folder))
    elements._tables.cache_clear()
    yield folder
    elements._tables.cache_clear()


def test_cold_cache_equals_xraydb(cache_dir: Path) -> None:
    symbols = [xraydb.atomic_symbol(z) for z in range(1, 99)]
    assert [elements.atomic_symbol(z) for z in range(1, 99)] == symbols
    for el in symbols:
        assert elements.atomic_mass(el) == xraydb.atomic_mass(el), el
        np.testing.assert_array_equal(elements.f0(el, S), xraydb.f0(el, S), err_msg=el)
    assert elements.f0("Fe", 0.25) == xraydb.f0("Fe", 0.25)  # a scalar, as xraydb takes it
    for el in ANOMALOUS:
        for e in ENERGIES:
            assert elements.f1_chantler(el, e) == xraydb.f1_chantler(el, e), (el, e)
            assert elements.f2_chantler(el, e) == xraydb.f2_chantler(el, e), (el, e)
    path = elements.cache_path()
    assert path is not None and path.parent == cache_dir and path.is_file()
    data = json.loads(path.read_text())
    assert len(data["f0"]) == 98 and len(data["anomalous"]) == len(ANOMALOUS) * len(ENERGIES)


def test_warm_cache_needs_no_xraydb(cache_dir: Path) -> None:
    code = (
        "import json, sys\n"
        "from xtal.crystal import elements as e\n"
        f"S = [i / 100 for i in range(201)]\n"
        f"out = {{el: [e.atomic_mass(el), e.f0(el, S).tolist(),"
        f" [[e.f1_chantler(el, x), e.f2_chantler(el, x)] for x in {list(ENERGIES)!r}]]"
        f" for el in {list(ANOMALOUS)!r}}}\n"
        "print(json.dumps({'xraydb_imported': 'xraydb' in sys.modules, 'values': out}))\n"
    )
    env = {**os.environ, elements.CACHE_ENV: str(cache_dir)}

    def run() -> dict:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, check=True)
        return json.loads(proc.stdout)

    cold, warm = run(), run()
    assert cold["xraydb_imported"] and not warm["xraydb_imported"]
    assert warm["values"] == cold["values"]  # JSON floats round-trip exactly
    s = np.arange(201) / 100
    for el in ANOMALOUS:
        mass, f0, anom = warm["values"][el]
        assert mass == xraydb.atomic_mass(el)
        np.testing.assert_array_equal(f0, xraydb.f0(el, s))
        assert anom == [[xraydb.f1_chantler(el, e), xraydb.f2_chantler(el, e)] for e in ENERGIES]


def test_no_writable_cache_still_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(elements.CACHE_ENV, str(blocker / "cache"))
    elements._tables.cache_clear()
    try:
        np.testing.assert_array_equal(elements.f0("S", S), xraydb.f0("S", S))
        assert elements.f1_chantler("S", ENERGIES[0]) == xraydb.f1_chantler("S", ENERGIES[0])
        assert blocker.read_text() == "not a directory"
    finally:
        elements._tables.cache_clear()


def test_a_stale_or_broken_cache_is_rebuilt(cache_dir: Path) -> None:
    elements.atomic_mass("Na")
    path = elements.cache_path()
    data = json.loads(path.read_text())
    data["mass"]["Na"] = 1.0  # as if written for another xraydb
    data["key"] = "another xraydb"
    path.write_text(json.dumps(data))
    elements._tables.cache_clear()
    assert elements.atomic_mass("Na") == xraydb.atomic_mass("Na")
    path.write_text("{truncated")
    elements._tables.cache_clear()
    assert elements.atomic_mass("Na") == xraydb.atomic_mass("Na")


def test_what_the_cache_does_not_hold_goes_to_xraydb(cache_dir: Path) -> None:
    np.testing.assert_array_equal(elements.f0("Fe2+", S), xraydb.f0("Fe2+", S))  # an ion
    e = np.array(ENERGIES)
    np.testing.assert_array_equal(elements.f1_chantler("Pb", e), xraydb.f1_chantler("Pb", e))
    for bad in ("Xx", "Qq"):
        with pytest.raises(Exception) as ours:
            elements.f0(bad, S)
        with pytest.raises(Exception) as theirs:
            xraydb.f0(bad, S)
        assert str(ours.value) == str(theirs.value)
        with pytest.raises(Exception) as ours:
            elements.f1_chantler(bad, ENERGIES[0])
        with pytest.raises(Exception) as theirs:
            xraydb.f1_chantler(bad, ENERGIES[0])
        assert str(ours.value) == str(theirs.value)
