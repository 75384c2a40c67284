"""Recipe restraints with wildcard sites: every pair of matching sites closer than
``within`` in the starting model is restrained.  Reference: pymatgen's neighbour search on
the expanded ordered candidate (every B–S pair under 2.1 Å), mapped to site labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xtal.analysis.ordering import ordered_variants
from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError
from xtal.io.cif import read_cif
from xtal.refine.api import make_problem
from xtal.refine.recipe import load_recipe, parse_recipe

TABLE1 = (
    Path(__file__).resolve().parents[2] / "shared/data/structures/Na3BS3_trigonal_P3_table1.cif"
)


def _pmg_pairs(phase, cutoff: float) -> set[tuple[str, str]]:
    from pymatgen.core import Lattice, Structure

    at = phase.atoms
    labels = [phase.sites[i].label for i in at.site_index]
    s = Structure(Lattice(phase.cell.matrix), list(at.elements), at.frac)
    out = set()
    for k, site in enumerate(s):
        if site.specie.symbol == "B":
            for nb in s.get_neighbors(site, cutoff):
                if nb.specie.symbol == "S":
                    out.add((labels[k], labels[nb.index]))
    return out


@pytest.mark.parametrize("group", ["Cmc2_1", "Cc"])
def test_wildcard_pairs_are_the_bonds(group: str) -> None:
    (v,) = [v for v in ordered_variants(read_cif(TABLE1), max_cells=3) if v.space_group == group]
    x = np.arange(10.0, 60.0, 0.02)
    pattern = Pattern(x, np.full(x.size, 100.0))
    problem = make_problem(pattern, [v.model], None, "na3bs3_ordered")
    got = {(r.site1, r.site2) for r in problem.restraints}
    assert got == _pmg_pairs(v.model, 2.1)
    assert all(r.target == 1.81 and r.sigma == 0.02 for r in problem.restraints)
    assert not problem.notes  # the role {ordered} is filled by the candidate


def test_wildcards_need_within() -> None:
    data = {"stage": [{"refine": ["phases.*.scale"]}],
            "restraint": [{"phase": "*", "sites": ["B*", "S*"], "distance": 1.81}]}
    with pytest.raises(InputError, match="within"):
        parse_recipe(data, "r.toml")
    spec = load_recipe("na3bs3_ordered").restraints[0]
    assert (spec.site1, spec.site2, spec.within) == ("B*", "S*", 2.1)
