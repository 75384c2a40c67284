"""The main job of ``make demo``: ``python -m xtal.demo [OUTPUT_DIR]``.

For now it simulates the patterns of the shipped phases the Na3BS3 paper is about
(Mater. Adv. 2021, 2, 1676) with the default Cu Kα1/Kα2 instrument over 2θ 10–80°,
step 0.01° (the paper's SmartLab scan): trigonal Na3BS3 alone, Na2S alone, and the
93:7 (by weight) mixture a glass-ceramic heated at 200 °C looks like.  Each pattern is
written as a ``.xy`` file and a PNG plot with hkl tick marks into ``demo-output/``
(the demo's own directory: its files are replaced, atomically, on every run), and a
short summary is printed.

The section marked "THE MAIN JOB" is the part that becomes a refinement of the
bundled example pattern once ``xtal refine`` exists; the rest (output directory,
summary of the phases, where the files are) stays.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from xtal.crystal.library import load_phase
from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.diffraction.simulate import simulate, two_theta_grid
from xtal.errors import XtalError
from xtal.io.pattern_write import write_xy
from xtal.io.plots import plot_pattern

OUTPUT_DIR = Path("demo-output")
PHASES = ("Na3BS3-trigonal", "Na2S")
MIXTURE_WEIGHTS = (0.93, 0.07)  # wt%: the glass-ceramic of the synthetic example data
TWO_THETA = (10.0, 80.0, 0.01)  # degrees: start, stop, step (the paper's scan)
N_STRONGEST = 5


@dataclass(frozen=True)
class Output:
    """One simulated pattern and the files written for it."""

    title: str
    pattern: Pattern
    xy: Path
    png: Path


def phase_table(phases: list[Phase]) -> Table:
    """Formula, space group, cell, Z and density of each phase."""
    table = Table(title="Phases")
    for col in (
        "phase",
        "formula",
        "space group",
        "a, b, c (Å)",
        "α, β, γ (°)",
        "V (Å³)",
        "Z",
        "ρ (g/cm³)",
    ):
        table.add_column(col)
    for p in phases:
        c, sg = p.cell, p.space_group
        z = p.formula_and_z[1]
        table.add_row(
            p.name,
            p.formula,
            f"{sg.hm_compact} ({sg.number})",
            f"{c.a:.4f}, {c.b:.4f}, {c.c:.4f}",
            f"{c.alpha:g}, {c.beta:g}, {c.gamma:g}",
            f"{c.volume:.2f}",
            f"{z} ({float(z):.3g})" if z.denominator != 1 else f"{z}",
            f"{p.density:.3f}",
        )
    return table


def strongest_table(pattern: Pattern, n: int = N_STRONGEST) -> Table:
    """The ``n`` strongest Kα1 reflections of each phase inside the pattern's 2θ range."""
    table = Table(title=f"Strongest reflections of {pattern.name} (Cu Kα1)")
    for col in ("phase", "hkl", "d (Å)", "2θ (°)", "I (integrated)", "I / I_max (%)"):
        table.add_column(col, justify="left" if col in ("phase", "hkl") else "right")
    for name, refl in pattern.reflections.items():
        tth = refl.columns["two_theta"]
        inten = refl.columns["intensity"]
        inside = np.nonzero((tth >= pattern.x[0]) & (tth <= pattern.x[-1]))[0]
        if inside.size == 0:
            continue
        top = inside[np.argsort(-inten[inside], kind="stable")[:n]]
        i_max = inten[inside].max()
        for k, i in enumerate(sorted(top, key=lambda j: tth[j])):
            h, kk, ll = refl.hkl[i]
            table.add_row(
                name if k == 0 else "",
                f"{h} {kk} {ll}",
                f"{refl.d[i]:.4f}",
                f"{tth[i]:.3f}",
                f"{inten[i]:.4g}",
                f"{100 * inten[i] / i_max:.1f}",
            )
        table.add_section()
    return table


def write_outputs(pattern: Pattern, stem: str, out_dir: Path, header: list[str]) -> Output:
    """Write ``<stem>.xy`` and ``<stem>.png`` (atomically; the demo's own files are replaced)."""
    xy = write_xy(pattern, out_dir / f"{stem}.xy", header=header, force=True)
    png = plot_pattern(pattern, out_dir / f"{stem}.png", title=header[0], force=True)
    return Output(header[0], pattern, xy, png)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit status (2 on bad input, as the CLI does)."""
    parser = argparse.ArgumentParser(prog="python -m xtal.demo", description=__doc__.split("\n")[0])
    parser.add_argument(
        "output_dir",
        nargs="?",
        type=Path,
        default=OUTPUT_DIR,
        help=f"where to write the files (default: {OUTPUT_DIR})",
    )
    args = parser.parse_args(argv)
    console = Console()
    if not console.is_terminal:  # a log file: wide enough for the tables on one line each
        console = Console(width=120)
    out_dir: Path = args.output_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        phases = [load_phase(name) for name in PHASES]
        instrument = Instrument()  # Cu Kα1/Kα2, GSAS-II-style default profile
        x = two_theta_grid(*TWO_THETA)
        console.print(phase_table(phases))

        # ---- THE MAIN JOB ------------------------------------------------------------
        # Simulation of each phase and of the 93:7 mixture.  When refinement lands this
        # section becomes: read the bundled example pattern, refine it with its recipe,
        # write the report, refined CIFs and the fit plot into out_dir.
        inst_text = "default Cu Ka1/Ka2 instrument"
        outputs = []
        for phase in phases:
            pattern = simulate(phase, instrument, x)
            header = [f"{phase.name} simulated by xtal", inst_text]
            outputs.append(write_outputs(pattern, _stem(phase.name), out_dir, header))
        mixture = simulate(phases, instrument, x, weights=MIXTURE_WEIGHTS)
        weights = ", ".join(
            f"{p.name} {100 * w:g} wt%" for p, w in zip(phases, MIXTURE_WEIGHTS, strict=True)
        )
        outputs.append(
            write_outputs(
                mixture, "mixture", out_dir, [f"mixture simulated by xtal: {weights}", inst_text]
            )
        )
        # ---- END OF THE MAIN JOB -------------------------------------------------------

    except (XtalError, OSError) as err:
        console.print(f"xtal demo: error: {err}", style="red", markup=False, highlight=False)
        return 2

    console.print(strongest_table(mixture))
    files = Table(title=f"Outputs in {out_dir.resolve()}")
    for col in ("pattern", "points", "data (2θ, I)", "plot"):
        files.add_column(col)
    for o in outputs:
        files.add_row(o.title, str(o.pattern.x.size), o.xy.name, o.png.name)
    console.print(files)
    console.print(f"The outputs are in [bold]{out_dir.resolve()}[/bold]")
    return 0


def _stem(name: str) -> str:
    return name.lower().replace("-", "_")


if __name__ == "__main__":
    sys.exit(main())
