"""``xtal.refine(...)``: refinement from files or value objects.

Resolves every input that is a file or a name (pattern formats via
:func:`xtal.io.patterns.read_one`, ``PATH#N`` for one scan of several, CIFs and shipped
structures via :func:`xtal.load_phase`, ``.instprm``/``.prm`` via
:func:`xtal.io.instprm.read_instrument`, fixed background points such as FullProf's
``.BGR``) and hands value objects to
:func:`xtal.refine.api.refine_values`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from xtal.crystal.phase import Phase
from xtal.diffraction.instrument import Instrument
from xtal.diffraction.pattern import Pattern
from xtal.errors import InputError
from xtal.refine.amorphous import InternalStandard
from xtal.refine.api import refine_values
from xtal.refine.engine import Engine, Progress
from xtal.refine.parameters import Restraint
from xtal.refine.recipe import Recipe
from xtal.refine.result import Result
from xtal.refine.strategy import Start

PathLike = str | os.PathLike[str]


def refine(
    pattern: Pattern | PathLike,
    phases: Sequence[Phase | PathLike],
    instrument: Instrument | PathLike | None = None,
    recipe: Recipe | PathLike | None = None,
    *,
    engine: str | Engine = "native",
    start: Start | PathLike = None,
    two_theta_range: tuple[float, float] | None = None,
    exclude: Sequence[tuple[float, float]] = (),
    fix: Sequence[str] = (),
    constraints: Sequence[str] = (),
    restraints: Sequence[Restraint] = (),
    fcj: str | None = None,
    background_points: Sequence[tuple[float, float]] | PathLike | None = None,
    preferred_orientation: dict[str, tuple[int, int, int]] | None = None,
    exact_esds: bool = False,
    roles: dict[str, str] | None = None,
    le_bail: Sequence[Phase | PathLike] = (),
    internal_standard: InternalStandard | str | None = None,
    progress: Progress | None = None,
) -> Result:
    """Rietveld refinement of one pattern against one or more phases.

    Parameters
    ----------
    pattern
        A :class:`Pattern`, or a file :func:`xtal.read_pattern` can read (``PATH#N``
        chooses one scan of several; several scans that cannot be merged are refused).
    phases
        Starting models: :class:`Phase` objects, shipped/registered names or CIF paths.
    instrument
        An :class:`Instrument`, an ``.instprm``/``.prm`` file, or None: Cu Kα1/Kα2
        defaults with the wavelengths the data file states.
    recipe
        A :class:`Recipe`, a TOML file or a shipped name (default ``standard``).
    engine
        ``"native"`` (xtal's own), ``"gsas2"`` (GSAS-II through its scripting API) or
        an engine object (:class:`xtal.refine.engine.Engine`).
    start
        Warm start: an earlier :class:`Result`, its directory or ``result.json``, or a
        mapping of parameter values.
    two_theta_range
        Refine only lo ≤ 2θ ≤ hi.
    exclude
        2θ regions left out (e.g. a Be-window or holder peak).
    fix
        Parameter names (wildcards allowed) never refined, whatever the recipe says.
    constraints
        Extra linear constraints (see :func:`xtal.refine.parameters.parse_constraint`).
    restraints
        Extra distance restraints.
    fcj
        Axial-divergence quadrature; default: the recipe's.
    background_points
        A fixed background given as (2θ, intensity) points or a file of them
        (two columns, e.g. FullProf's ``.BGR``), interpolated linearly and added
        to the refined background; it is not refined.
    preferred_orientation
        March–Dollase axis (hkl of the reciprocal-lattice direction) per phase name;
        the ratio ``phases.<name>.po.ratio`` is then refinable.  A recipe may set it
        too: ``[phase."<name>"] po_axis = [0, 0, 1]``.
    exact_esds
        Compute the final covariance from differences of the drawn pattern rather
        than from the analytic profile derivatives (which agree to ~2 %).
    roles
        The phase that fills a recipe role, e.g. ``{"trigonal": "my_table1"}``
        (default: the phases whose composition and space group match the role).
    le_bail
        Phases fitted by Le Bail extraction (Le Bail, Duroy & Fourquet 1988): each a
        :class:`Phase`, a shipped/registered name or CIF (atoms ignored), or
        ``"a,b,c,alpha,beta,gamma:SPACEGROUP"``.  Their cells, the zero/displacement and
        the profile refine as the recipe says; every reflection's intensity is extracted
        from the pattern and listed with the result (``phases.<name>.reflections``).
    internal_standard
        A weighed-in standard, :class:`~xtal.refine.amorphous.InternalStandard` or
        ``"PHASE:WT%[:ESD%]"``: then the result also gives each phase's fraction of the
        original sample and the amorphous part (:mod:`xtal.refine.amorphous`).
    progress
        Called with (stage, cycle, Rwp) after every accepted cycle.

    Returns
    -------
    Result
        Values with esds, R factors, weight fractions, curves; ``Result.stopped``
        says why a refinement stopped early, in which case the values are the last
        good ones.
    """
    if engine == "gsas2":
        from xtal.refine.gsas2 import require_gsas2

        require_gsas2()  # before any file is read: say how to install it
    return refine_values(
        _pattern(pattern),
        [_phase(p) for p in phases],
        _instrument(instrument),
        recipe,
        engine=engine,
        start=_start(start),
        two_theta_range=two_theta_range,
        exclude=exclude,
        fix=fix,
        constraints=constraints,
        restraints=restraints,
        fcj=fcj,
        fixed_background=_background(background_points),
        preferred_orientation=preferred_orientation,
        exact_esds=exact_esds,
        roles=roles,
        le_bail=[le_bail_phase(p) for p in le_bail],
        internal_standard=(
            InternalStandard.parse(internal_standard)
            if isinstance(internal_standard, str)
            else internal_standard
        ),
        progress=progress,
    )


def le_bail_phase(spec: Phase | PathLike) -> Phase:
    """A phase for Le Bail extraction: a Phase, a name or CIF, or ``a,b,c,al,be,ga:GROUP``."""
    if isinstance(spec, Phase):
        return spec
    text = str(spec)
    if ":" in text and "," in text.split(":", 1)[0] and not Path(text).exists():
        return cell_only_phase(text)
    return _phase(spec)


def cell_only_phase(text: str) -> Phase:
    """``"a,b,c,alpha,beta,gamma:SPACEGROUP"`` (Å, degrees; a Hermann–Mauguin symbol or IT
    number) → a phase with that cell and no atoms, named ``lebail_<group>``."""
    from xtal.crystal.cell import Cell
    from xtal.crystal.spacegroup import SpaceGroup

    cell_text, group = text.split(":", 1)
    try:
        values = [float(v) for v in cell_text.split(",")]
    except ValueError:
        values = []
    if len(values) != 6:
        raise InputError(f"'{text}': give a,b,c,alpha,beta,gamma:SPACEGROUP (six numbers)")
    group = group.strip()
    sg = SpaceGroup.from_number(int(group)) if group.isdigit() else SpaceGroup.from_symbol(group)
    name = "lebail_" + "".join(ch for ch in sg.symbol if ch.isalnum() or ch in "-_")
    return Phase(name, Cell(*values), sg, (), provenance=f"cell given for Le Bail: {text}")


def _pattern(p: Pattern | PathLike) -> Pattern:
    if isinstance(p, Pattern):
        return p
    from xtal.io.patterns import read_one

    return read_one(p)


def _phase(p: Phase | PathLike) -> Phase:
    if isinstance(p, Phase):
        return p
    from xtal.io.library import load_phase

    return load_phase(p)


def _instrument(inst: Instrument | PathLike | None) -> Instrument | None:
    if inst is None or isinstance(inst, Instrument):
        return inst
    from xtal.io.instprm import read_instrument

    return read_instrument(inst)


def _start(start: Start | PathLike) -> Start:
    if isinstance(start, str | os.PathLike):
        return Result.load(start)
    return start


def _background(bg: Sequence[tuple[float, float]] | PathLike | None) -> np.ndarray | None:
    if bg is None:
        return None
    if isinstance(bg, str | os.PathLike):
        from xtal.io.background_points import read_background_points

        return read_background_points(bg)
    return np.asarray(bg, float)
