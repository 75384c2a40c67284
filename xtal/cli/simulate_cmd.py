"""``xtal simulate``: calculate a powder pattern from phases and an instrument."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from xtal.cli import app
from xtal.cli.ranges import RANGE_STEP_METAVAR, MultiValueCommand, two_theta_range
from xtal.errors import InputError

DEFAULT_STEP = 0.01  # degrees: the Na3BS3 paper's laboratory step


def _parse_weights(text: str | None, n: int) -> list[float] | None:
    if text is None:
        return None
    try:
        w = [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"--weights '{text}' is not a comma-separated list of numbers") from None
    if len(w) != n:
        raise InputError(f"--weights has {len(w)} values for {n} phases")
    return w


@app.command(cls=MultiValueCommand)
def simulate(
    phases: list[str] = typer.Argument(..., help="CIF files or shipped/registered phase names."),
    instrument: Path | None = typer.Option(
        None, "--instrument", "-i", help="GSAS-II .instprm or GSAS .prm file (default Cu Kα)."
    ),
    range_: list[float] | None = typer.Option(
        None, "--range", metavar=RANGE_STEP_METAVAR, show_default=False,
        help=f"2θ range and step (degrees), e.g. --range 10 80 0.01; STEP defaults to "
             f"{DEFAULT_STEP:g} [default: 10 80 {DEFAULT_STEP:g}]."),
    weights: str | None = typer.Option(None, "--weights", help="Weight fractions, e.g. 0.9,0.1."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .xy (or .xye) file."),
    plot: Path | None = typer.Option(None, "--plot", help="Also write a picture (.png/.svg/.pdf)."),
    no_anomalous: bool = typer.Option(False, "--no-anomalous", help="Switch off f′ and f″."),
    fcj: str = typer.Option(
        "fast", "--fcj",
        help="Axial-divergence (FCJ) quadrature: fast (each peak within 1e-3 of its height of"
             " the converged integral) or exact (1e-5)."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
    engine: str = typer.Option(
        "native", "--engine",
        help="native (xtal) or gsas2 (GSAS-II's own profile routines; 'make gsas2')."),
) -> None:
    """Simulate a powder pattern (Kα1 + Kα2, TCH pseudo-Voigt with FCJ asymmetry)."""
    from xtal.diffraction.fcj import check_fcj
    from xtal.diffraction.instrument import Instrument
    from xtal.diffraction.simulate import simulate as run
    from xtal.diffraction.simulate import two_theta_grid
    from xtal.io.instprm import read_instrument
    from xtal.io.library import load_phase
    from xtal.io.pattern_write import write_xy
    from xtal.io.plots import check_plot_path, plot_pattern
    from xtal.util.files import check_writable

    # validate everything before anything is written
    if engine not in ("native", "gsas2"):
        raise InputError(f"--engine must be native or gsas2, not '{engine}'")
    if engine == "gsas2":
        from xtal.refine.gsas2 import require_gsas2

        require_gsas2()
        if no_anomalous:
            raise InputError("--no-anomalous: GSAS-II always includes f′ and f″")
    check_fcj(fcj)
    lo, hi, *step = two_theta_range(range_, step=True) or (10.0, 80.0)
    x = two_theta_grid(lo, hi, step[0] if step else DEFAULT_STEP)
    check_writable(out, force)
    if plot is not None:
        check_plot_path(plot, force)
    loaded = [load_phase(p) for p in phases]
    w = _parse_weights(weights, len(loaded))
    inst = read_instrument(instrument) if instrument else Instrument()
    if engine == "gsas2":
        from xtal.refine.gsas2.simulate import simulate_gsas2

        pattern = simulate_gsas2(loaded, inst, x, weights=w)
    else:
        pattern = run(loaded, inst, x, weights=w, anomalous_dispersion=not no_anomalous,
                      fcj=fcj)
    by = pattern.metadata.get("engine", "xtal")
    header = [
        f"simulated by {by} from {', '.join(phases)}",
        f"instrument: {instrument or 'default Cu Ka1/Ka2'}",
    ]
    if w:
        header.append(
            "weight fractions: "
            + ", ".join(f"{p.name}={v:g}" for p, v in zip(loaded, w, strict=True))
        )
    write_xy(pattern, out, header=header, force=force)
    console = Console(stderr=True)
    console.print(f"wrote {out} ({pattern.x.size} points)")
    if plot is not None:
        plot_pattern(pattern, plot, force=force)
        console.print(f"wrote {plot}")
