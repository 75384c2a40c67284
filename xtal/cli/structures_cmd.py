"""``xtal structures``: list, register and show structure models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from xtal.cli import app

structures_app = typer.Typer(
    name="structures",
    help="Shipped and registered structure models (CIF).",
    no_args_is_help=True,
)
app.add_typer(structures_app, name="structures")


@structures_app.command("list")
def list_cmd() -> None:
    """List shipped and registered structures."""
    from xtal.io.library import MONOCLINIC, list_structures, load_phase

    table = Table(title="xtal structures")
    for col in ("name", "kind", "formula", "space group", "provenance"):
        table.add_column(col, no_wrap=col == "name", overflow="fold")
    infos = list_structures()
    for info in infos:
        phase = load_phase(info.name)
        first = info.provenance.splitlines()[0] if info.provenance else ""
        sg = phase.space_group
        table.add_row(info.name, info.kind, phase.formula, f"{sg.hm_compact} ({sg.number})", first)
    console = _console()
    console.print(table)
    if not any(i.name.lower() == MONOCLINIC.lower() for i in infos):
        console.print(
            f"{MONOCLINIC}: not registered (licensed ICSD data); "
            f"add it with `xtal structures add FILE.cif --name {MONOCLINIC}`"
        )


@structures_app.command("add")
def add_cmd(
    file: Annotated[Path, typer.Argument(help="CIF file to register.")],
    name: Annotated[str, typer.Option("--name", help="Name to load it by.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a registration.")] = False,
) -> None:
    """Validate a CIF and register it under NAME in the user data directory."""
    from xtal.app.structures import register_structure

    info = register_structure(file, name, force=force)
    typer.echo(f"registered {info.name} -> {info.path} (sha256 {info.sha256[:12]}…)")


@structures_app.command("show")
def show_cmd(name: Annotated[str, typer.Argument(help="Structure name or CIF path.")]) -> None:
    """Show cell, space group, sites (with Wyckoff letters), Z and density."""
    from xtal.io.library import load_phase

    phase = load_phase(name)
    c, sg = phase.cell, phase.space_group
    console = _console()
    console.print(f"[bold]{phase.name}[/bold]  {phase.formula}  ({phase.source or ''})")
    console.print(
        f"space group {sg.hm_compact} (No. {sg.number}, {sg.crystal_system}), {sg.order} operations"
    )
    console.print(
        f"a = {c.a:.5f}  b = {c.b:.5f}  c = {c.c:.5f} Å   "
        f"α = {c.alpha:.3f}  β = {c.beta:.3f}  γ = {c.gamma:.3f}°   V = {c.volume:.3f} Å³"
    )
    z = phase.formula_and_z[1]
    console.print(
        f"Z = {z} ({float(z):.4g})   density = {phase.density:.4f} g/cm³   "
        f"cell contents: {_contents(phase.cell_contents)}"
    )
    table = Table()
    for col in ("label", "el", "Wyckoff", "site sym.", "x", "y", "z", "occ", "B (Å²)"):
        table.add_column(col, no_wrap=True)
    for s in phase.sites:
        table.add_row(
            s.label,
            s.element,
            f"{s.multiplicity}{s.wyckoff}",
            s.site_symmetry,
            *(f"{v:.5f}" for v in s.xyz),
            f"{s.occupancy:.4g}",
            f"{s.b_iso:.3f}",
        )
    console.print(table)
    if phase.provenance:
        console.print(phase.provenance.splitlines()[0])


def _console() -> Console:
    # rich uses 80 columns when not on a terminal, too narrow for the site table
    from xtal.cli.tables import table_console

    return table_console()


def _contents(contents: dict[str, float]) -> str:
    return " ".join(f"{el}{n:.4g}" for el, n in sorted(contents.items()))
