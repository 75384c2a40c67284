"""Bad input through the real CLI: one line on stderr, exit status 2, nothing written.

Every case runs ``python -m xtal simulate ... --out out.xy --plot out.png`` in a
scratch directory and checks that

* the exit status is 2,
* stderr is exactly one line, ``xtal: error: <file>: <problem>``, naming the file
  at fault (or the bad value when no file is involved) and the problem,
* neither ``out.xy`` nor ``out.png`` (nor a temporary file) exists afterwards;

and that ``xtal --debug`` shows the traceback instead of the one-liner.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import run_xtal

P3_CELL = """\
_cell_length_a 3.901
_cell_length_b 3.901
_cell_length_c 7.422
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 120
"""
P3_OPS = """\
loop_
_space_group_symop_operation_xyz
'x,y,z'
'-y,x-y,z'
'-x+y,-x,z'
"""
SITES = """\
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
_atom_site_B_iso_or_equiv
"""
GOOD_SITES = "Na1 Na 0.666667 0.333333 0.2467 1 1.0\nS1 S 0 0 0 1 1.0\n"


def cif(cell: str = P3_CELL, ops: str = P3_OPS, sites: str = GOOD_SITES) -> str:
    """A small P3 CIF with pieces replaced."""
    return "data_bad\n" + cell + ops + SITES + sites


INSTPRM = """\
#GSAS-II instrument parameter file; do not add/delete items!
Type:PXC
Bank:1.0
Lam1:{lam1}
Lam2:1.544414
I(L2)/I(L1):0.5
Zero:0.0
Polariz.:0.5
Azimuth:0.0
U:2.0
V:-2.0
W:5.0
X:1.5
Y:3.0
Z:0.0
SH/L:0.02
"""


@dataclass(frozen=True)
class Bad:
    """One bad input: the files to create, the arguments, and what the message must say."""

    id: str
    files: dict[str, str]
    args: tuple[str, ...]
    names: str  # the file (or value) the message must name
    problem: str  # words of the problem, case-insensitive


CASES = [
    Bad(
        "cif-without-cell",
        {"nocell.cif": cif(cell="")},
        ("nocell.cif",),
        "nocell.cif",
        "no cell",
    ),
    Bad(
        "unknown-element",
        {"element.cif": cif(sites=GOOD_SITES + "Xx1 Xx 0 0 0.5 1 1.0\n")},
        ("element.cif",),
        "element.cif",
        "unknown element",
    ),
    Bad(
        "broken-symmetry-operators",
        {"symops.cif": cif(ops="loop_\n_space_group_symop_operation_xyz\n'x,y,z'\n'-y,x-q,z'\n")},
        ("symops.cif",),
        "symops.cif",
        "symmetry operators",
    ),
    Bad(
        "occupancy-above-1",
        {"occ.cif": cif(sites="Na1 Na 0.666667 0.333333 0.2467 1.2 1.0\nS1 S 0 0 0 1 1.0\n")},
        ("occ.cif",),
        "occ.cif",
        "occupancy 1.2 > 1",
    ),
    Bad(
        "negative-adp",
        {"adp.cif": cif(sites="Na1 Na 0.666667 0.333333 0.2467 1 -20\nS1 S 0 0 0 1 1.0\n")},
        ("adp.cif",),
        "adp.cif",
        "negative ADP",
    ),
    Bad(
        "wavelength-zero",
        {"zero.instprm": INSTPRM.format(lam1="0.0")},
        ("Na2S", "--instrument", "zero.instprm"),
        "zero.instprm",
        "must be positive",
    ),
    Bad(
        "wavelength-negative",
        {"neg.instprm": INSTPRM.format(lam1="-1.54")},
        ("Na2S", "--instrument", "neg.instprm"),
        "neg.instprm",
        "wavelength",
    ),
    Bad(
        "range-from-zero",
        {},
        ("Na2S", "--range", "0", "80", "0.01"),
        "0.0",
        "2θ range",
    ),
    Bad(
        "range-beyond-180",
        {},
        ("Na2S", "--range", "10", "200", "0.01"),
        "200.0",
        "2θ range",
    ),
    Bad(
        "missing-cif",
        {},
        ("missing.cif",),
        "missing.cif",
        "no such file",
    ),
    Bad(
        "missing-instrument",
        {},
        ("Na2S", "--instrument", "missing.instprm"),
        "missing.instprm",
        "cannot read",
    ),
    Bad(
        "unknown-phase-name",
        {},
        ("NoSuchPhase",),
        "NoSuchPhase",
        "unknown structure",
    ),
    Bad(
        "unknown-picture-format",
        {},
        ("Na2S", "--plot", "out.bmpx"),
        "out.bmpx",
        "suffix",
    ),
]




def setup(tmp_path: Path, case: Bad) -> list[str]:
    """Write the case's files; return the full simulate command line."""
    for name, text in case.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    args = ["simulate", *case.args, "--out", "out.xy"]
    if "--plot" not in case.args:
        args += ["--plot", "out.png"]
    return args


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, case: Bad) -> None:
    proc = run_xtal(tmp_path, *setup(tmp_path, case))
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{proc.stderr}"
    line = lines[0]
    assert line.startswith("xtal: error: ")
    assert case.names in line, line
    assert case.problem.lower() in line.lower(), line
    assert "Traceback" not in proc.stderr
    # nothing written: the inputs are all that is left in the directory
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(case.files)


@pytest.mark.parametrize(
    "case", [CASES[0], CASES[5], CASES[7]], ids=[CASES[i].id for i in (0, 5, 7)]
)
def test_debug_shows_the_traceback(tmp_path: Path, case: Bad) -> None:
    proc = run_xtal(tmp_path, "--debug", *setup(tmp_path, case))
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr
    assert "InputError" in proc.stderr and case.problem.lower() in proc.stderr.lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(case.files)
