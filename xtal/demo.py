"""The main job of ``make demo``: ``python -m xtal.demo [OUTPUT_DIR]``.

1. **Refinement** (the main job): the bundled example
   ``refinements/examples/na3bs3_ht200_gsas2/`` (a synthetic pattern of a Na3BS3
   glass-ceramic heated at 200 °C, computed by GSAS-II with Poisson noise) is refined
   with the ``na3bs3`` recipe, starting from the Table 1 model of trigonal Na3BS3
   (Mater. Adv. 2021, 2, 1676) and Na2S — exactly what

   ``xtal refine .../pattern.xy --phase Na3BS3-trigonal --phase Na2S
   --instrument .../instrument.instprm --recipe na3bs3 --out demo-output/refinement --force``

   does.  The refined cells, weight fractions and Rwp are printed, and compared with
   the values the pattern was computed from (``truth.json``).
2. **Simulation** (shorter): the two phases alone and their 93:7 mixture with the
   default Cu Kα1/Kα2 instrument, 2θ 10–80°, as ``.xy`` and ``.png``.

Everything goes into ``demo-output/`` (the demo's own directory: its files are
replaced, atomically, on every run).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from xtal.app.refine_job import RefineRequest, run_refinement, summary_table
from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.diffraction.simulate import simulate, two_theta_grid
from xtal.errors import XtalError
from xtal.io.library import load_phase
from xtal.io.pattern_write import write_xy
from xtal.io.plots import plot_pattern
from xtal.refine.result import Result
from xtal.util.esd import format_esd

OUTPUT_DIR = Path("demo-output")
PHASES = ("Na3BS3-trigonal", "Na2S")
MIXTURE_WEIGHTS = (0.93, 0.07)  # wt%: the glass-ceramic of the synthetic example data
TWO_THETA = (10.0, 80.0, 0.01)  # degrees: start, stop, step (the paper's scan)
EXAMPLES = Path(__file__).resolve().parents[1] / "refinements" / "examples"
EXAMPLE = EXAMPLES / "na3bs3_ht200_gsas2"
RECIPE = str(EXAMPLE / "recipe.toml")  # na3bs3 with the zero refined (see the file)
# phase names in truth.json (written by the GSAS-II script) → xtal's phase names
TRUTH_NAMES = {"Na3BS3 trigonal P3": "Na3BS3-trigonal", "Na2S Fm-3m": "Na2S"}


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


def write_outputs(pattern: Pattern, stem: str, out_dir: Path, header: list[str]) -> Output:
    """Write ``<stem>.xy`` and ``<stem>.png`` (atomically; the demo's own files are replaced)."""
    xy = write_xy(pattern, out_dir / f"{stem}.xy", header=header, force=True)
    png = plot_pattern(pattern, out_dir / f"{stem}.png", title=header[0], force=True)
    return Output(header[0], pattern, xy, png)


def truth_table(result: Result, truth: dict) -> Table:
    """Refined values next to the values the synthetic pattern was computed from."""
    table = Table(title="Refined vs. truth (the values GSAS-II computed the pattern from)")
    for col in ("quantity", "truth", "refined", "refined − truth", "|Δ| / esd"):
        table.add_column(col, justify="left" if col == "quantity" else "right")

    def row(label: str, true: float, value: float, esd: float | None) -> None:
        delta = value - true
        ratio = f"{abs(delta) / esd:.1f}" if esd else "—"
        table.add_row(label, f"{true:g}", format_esd(value, esd), f"{delta:+.5f}", ratio)

    for tp in truth.get("phases", []):
        name = TRUTH_NAMES.get(tp["name"])
        if name not in result.phases:
            continue
        pr = result.phases[name]
        keys = ("a", "c") if pr.phase.space_group.crystal_system != "cubic" else ("a",)
        for key in (*keys, "volume"):
            v = pr.cell[key]
            row(f"{name} {key} ({'Å³' if key == 'volume' else 'Å'})", tp["cell"][key], v.value,
                v.esd)
        wf = pr.weight_fraction
        row(f"{name} weight fraction", tp["weight_fraction"], wf.value, wf.esd)
    zero = result.parameters.get("instrument.zero")
    if zero is not None and "zero_deg" in truth.get("instrument", {}):
        row("zero (° 2θ)", truth["instrument"]["zero_deg"], zero.value, zero.esd)
    return table


def refine_example(out_dir: Path, console: Console) -> Result:
    """The main job: refine the bundled example into ``out_dir/refinement``."""
    req = RefineRequest(
        data=EXAMPLE / "pattern.xy",
        phases=PHASES,
        out=out_dir / "refinement",
        instrument=EXAMPLE / "instrument.instprm",
        recipe=RECIPE,
        force=True,  # the demo's own directory
    )
    command = shlex.join([
        "xtal", "refine", str(req.data), *(a for p in PHASES for a in ("--phase", p)),
        "--instrument", str(req.instrument), "--recipe", RECIPE, "--out", str(req.out),
        "--force",
    ])
    console.rule("[bold]1. Refinement of the bundled example (synthetic, computed by GSAS-II)")
    console.print(command, markup=False, highlight=False)
    result, outputs = run_refinement(req, command)
    console.print(summary_table(result))
    truth_file = EXAMPLE / "truth.json"
    if truth_file.exists():
        console.print(truth_table(result, json.loads(truth_file.read_text(encoding="utf-8"))))
    if result.stopped:
        console.print(f"refinement stopped: {result.stopped}", style="red", markup=False)
    console.print(f"refinement outputs in [bold]{outputs.directory}[/bold]: "
                  + ", ".join(p.name for p in outputs.files), highlight=False)
    return result


def simulate_examples(phases: list[Phase], out_dir: Path, console: Console) -> list[Output]:
    """Each phase alone and the 93:7 mixture, written as ``.xy`` and ``.png``."""
    console.rule("[bold]2. Simulated patterns (Cu Kα1/Kα2, 2θ 10–80°)")
    console.print(phase_table(phases))
    instrument = Instrument()  # Cu Kα1/Kα2, GSAS-II-style default profile
    x = two_theta_grid(*TWO_THETA)
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
    outputs.append(write_outputs(mixture, "mixture", out_dir,
                                 [f"mixture simulated by xtal: {weights}", inst_text]))
    files = Table(title=f"Simulated patterns in {out_dir.resolve()}")
    for col in ("pattern", "points", "data (2θ, I)", "plot"):
        files.add_column(col)
    for o in outputs:
        files.add_row(o.title, str(o.pattern.x.size), o.xy.name, o.png.name)
    console.print(files)
    return outputs


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit status (2 on bad input, 1 if the refinement stopped)."""
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
        # ---- THE MAIN JOB ------------------------------------------------------------
        result = refine_example(out_dir, console)
        # ---- END OF THE MAIN JOB -------------------------------------------------------
        simulate_examples([load_phase(name) for name in PHASES], out_dir, console)
    except (XtalError, OSError) as err:
        console.print(f"xtal demo: error: {err}", style="red", markup=False, highlight=False)
        return 2
    console.print(f"The outputs are in [bold]{out_dir.resolve()}[/bold]")
    return 1 if result.stopped else 0


def _stem(name: str) -> str:
    return name.lower().replace("-", "_")


if __name__ == "__main__":
    sys.exit(main())
