"""The output directory of a refinement, written all at once or not at all.

``xtal refine ... --out DIR`` writes

* ``result.json``: :meth:`xtal.refine.result.Result.dumps` (schema ``xtal.result/1``);
* ``<phase>.cif``: one refined structure per phase, esds in parentheses (none for a Le
  Bail phase, which has no structure);
* ``fit.png``: the Rietveld figure (:func:`xtal.io.plots.plot_fit`);
* ``report.md``: the tables of :mod:`xtal.io.report_md`;
* ``report.html``: the same and more as one self-contained page (:mod:`xtal.io.report_html`;
  the analysis sections come from the caller, :func:`xtal.app.reports.analysis_sections`);
* ``refine.log``: command line, start/end time, per-stage summary, amounts, warnings;
* ``<phase>_lebail.hkl``: for each Le Bail phase, its extracted intensities in plain
  columns (h k l, d, 2θ, multiplicity, I).

Every file is first written into a temporary sibling directory (same parent, so
the final move is a rename on one file system) and only the complete set is moved
into place.  With ``force`` an existing DIR is renamed aside, the new one renamed in,
and only then is the old one deleted: a crash leaves either the old or the new
directory (the old one possibly under its temporary name), never a mixture.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from xtal.errors import InputError
from xtal.io.cif_write import format_cif
from xtal.io.plots import figure_svg, fit_figure, plot_fit
from xtal.io.report_md import engine_text, format_report, lebail_filename
from xtal.refine.result import PhaseResult, Result
from xtal.refine.result_text import (
    WT_CRYSTALLINE,
    WT_SAMPLE,
    amounts_lines,
    displacement_text,
    has_sample_fractions,
    phase_wt,
    phase_wt_of_sample,
)
from xtal.util.files import atomic_write

if TYPE_CHECKING:
    from xtal.io.report_html import Sections

#: Returns the PNG bytes of ``fit.png`` and the SVG text of the same figure.
Pictures = Callable[[], tuple[bytes, str]]

RESULT_JSON = "result.json"
FIT_PNG = "fit.png"
REPORT_MD = "report.md"
LOG = "refine.log"

# Result site keys → the dot-path keys xtal.io.cif_write looks esds up by
_CIF_SITE_KEYS = {"x": "x", "y": "y", "z": "z", "occ": "occ", "biso": "b_iso"}


@dataclass
class RefineOutputs:
    """Where the files of one refinement went."""

    directory: Path
    result_json: Path
    report: Path
    plot: Path
    log: Path
    cifs: dict[str, Path] = field(default_factory=dict)
    html: Path | None = None
    extras: list[Path] = field(default_factory=list)
    lebail: dict[str, Path] = field(default_factory=dict)  # phase → <phase>_lebail.hkl

    @property
    def files(self) -> list[Path]:
        """Every file written, in a stable order."""
        html = [self.html] if self.html is not None else []
        plot = [self.plot] if self.html is not None else []
        return [self.result_json, *self.cifs.values(), *self.lebail.values(), *plot,
                self.report, *html, self.log, *self.extras]


def check_output_dir(path: str | os.PathLike[str], force: bool = False) -> Path:
    """Refuse an output directory that cannot or must not be used; return it.

    A missing directory is fine (it will be created, with its parents); an empty
    one is fine; a non-empty one needs ``force``; a file of that name is refused.
    Called before the refinement starts so that nothing is computed in vain.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError("output path exists and is not a directory", p)
    if p.is_dir() and any(p.iterdir()) and not force:
        raise InputError("output directory is not empty; use --force to replace its contents", p)
    anchor = p.parent
    while not anchor.exists():  # the nearest existing ancestor must be writable
        anchor = anchor.parent
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise InputError("cannot create the output directory here (permission denied)", p)
    return p


def cif_esds(phase: PhaseResult) -> dict[str, float]:
    """The esds of one phase by the keys :func:`xtal.io.cif_write.format_cif` expects.

    ``cell.a`` … ``cell.gamma`` and ``sites.<label>.{x,y,z,occ,b_iso}``; parameters
    that were not refined (esd None) are left out, so they are written without
    parentheses.  A zero esd (a parameter symmetry holds fixed, e.g. γ = 120° of a
    trigonal cell) is left out as well.
    """
    out: dict[str, float] = {}
    for key, v in phase.cell.items():
        if key != "volume" and v.esd:
            out[f"cell.{key}"] = v.esd
    for label, values in phase.sites.items():
        for key, v in values.items():
            if key in _CIF_SITE_KEYS and v.esd:
                out[f"sites.{label}.{_CIF_SITE_KEYS[key]}"] = v.esd
    return out


def cif_filename(name: str) -> str:
    """A safe file name for the refined CIF of phase ``name``."""
    return (re.sub(r"[^A-Za-z0-9_.\-]", "_", name).strip(".") or "phase") + ".cif"


def refined_cif(result: Result, name: str, p1: bool = False) -> str:
    """CIF text of refined phase ``name`` with the refinement's esds and provenance.

    ``p1`` expands the structure to space group P1 (every atom listed).
    """
    pr = result.phases[name]
    # esds a starting CIF carried (Phase.extra['esd']) describe the old model, not this one
    # and the starting model's provenance is quoted as such, not as this CIF's own
    phase = replace(pr.phase, extra={**pr.phase.extra, "esd": {}}, provenance="")
    lines = [
        f"refined by {result.engine} {result.xtal_version} on {result.created or 'unknown date'}",
        f"data: {result.data_source or 'unknown'}; recipe: {result.recipe or 'unknown'}",
        f"R_Bragg = {100 * pr.r_bragg:.2f} %; weight fraction = {pr.weight_fraction}",
    ]
    if result.stopped:
        lines.append(f"refinement STOPPED ({result.stopped}); values are the last good state")
    if pr.phase.provenance.strip():
        lines.append("starting model:")
        lines += [f"  {ln}" for ln in pr.phase.provenance.splitlines()]
    return format_cif(phase, esds=cif_esds(pr), provenance="\n".join(lines), p1=p1,
                      rwp=100 * result.rwp)


def format_log(result: Result, command: str, started: _dt.datetime,
               finished: _dt.datetime) -> str:
    """Text of ``refine.log``: command, times, per-stage summary, warnings."""
    lines = [
        f"command: {command}",
        f"started: {started.isoformat(timespec='seconds')}",
        f"finished: {finished.isoformat(timespec='seconds')}"
        f" ({(finished - started).total_seconds():.1f} s)",
        f"data: {result.data_source}",
        f"recipe: {result.recipe}",
        f"engine: {engine_text(result)}",
        "",
        "stages:",
    ]
    for st in result.stages:
        state = "stopped: " + st["stopped"] if st.get("stopped") else (
            "converged" if st.get("converged") else "cycle limit reached")
        lines.append(
            f"  {st['name']}: {st.get('refined', '?')} parameters, {st['cycles']} cycles,"
            f" chi2 {_g(st.get('chi2_start'))} -> {_g(st.get('chi2'))}, {state}"
        )
    lines += [
        "",
        f"Rwp = {100 * result.rwp:.3f} %  Rp = {100 * result.rp:.3f} %"
        f"  Rexp = {100 * result.rexp:.3f} %  GOF = {result.gof:.3f}",
        f"points = {result.n_points}  refined parameters = {result.n_parameters}",
    ]
    sample = has_sample_fractions(result)
    for name, pr in result.phases.items():
        of_sample = f", {WT_SAMPLE} {phase_wt_of_sample(result, name)}" if sample else ""
        lines.append(f"{name}: {WT_CRYSTALLINE} {phase_wt(pr)}{of_sample},"
                     f" R_Bragg {100 * pr.r_bragg:.2f} %")
    lines += amounts_lines(result)
    lines.append(f"sample {displacement_text(result)}")
    if result.warnings:
        lines += ["", "warnings:"] + [f"  {w}" for w in result.warnings]
    lines += ["", f"STOPPED: {result.stopped}" if result.stopped else "finished normally"]
    return "\n".join(lines) + "\n"


def _g(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.6g}"


def format_lebail_hkl(result: Result, name: str) -> str:
    """``<phase>_lebail.hkl``: the intensities a Le Bail fit extracted, plain columns.

    One ``#`` header line per fact (phase, cell, what I is), then ``h k l d 2theta m I``:
    d in Å, 2θ of Kα1 in degrees, I the integrated intensity of the reflection
    (counts × degrees, Kα1 + Kα2, multiplicity included), as in ``report.md``.
    """
    pr = result.phases[name]
    refl = pr.reflections
    cell = " ".join(f"{pr.cell[k].value:.6f}" for k in ("a", "b", "c", "alpha", "beta", "gamma"))
    lines = [f"# Le Bail intensities of {name}, space group {pr.phase.space_group.symbol}",
             f"# cell (Å, °): {cell}; data: {result.data_source or 'unknown'}",
             "# I: integrated intensity (counts x degrees, Ka1 + Ka2, multiplicity included)",
             "#   h    k    l         d    2theta    m             I"]
    for hkl, d, t, m, i in zip(refl.get("hkl", []), refl.get("d", []), refl.get("two_theta", []),
                               refl.get("multiplicity", []), refl.get("i_obs", []), strict=True):
        h, k, l_ = (int(v) for v in hkl)
        lines.append(f"{h:5d}{k:5d}{l_:5d} {d:9.5f} {t:9.4f} {int(m):4d} {i:13.5g}")
    return "\n".join(lines) + "\n"


def write_refinement(result: Result, out_dir: str | os.PathLike[str], *, log_text: str,
                     force: bool = False, report_sections: Sections | None = None,
                     pictures: Pictures | None = None, plots: bool = True,
                     extras: dict[str, Path | str] | None = None,
                     report_extra: str = "") -> RefineOutputs:
    """Write every output of ``result`` into ``out_dir`` atomically (see module docstring).

    Parameters
    ----------
    result
        The refinement.
    out_dir
        Target directory; created (with parents) if missing.
    log_text
        Contents of ``refine.log`` (see :func:`format_log`).
    force
        Replace a non-empty ``out_dir``.
    report_sections
        The analysis sections of ``report.html``
        (:func:`xtal.app.reports.analysis_sections`); None leaves them out.
    pictures
        Returns ``fit.png`` (bytes) and the Rietveld SVG of ``report.html``
        (:func:`xtal.io.plots.fit_pictures`), drawn elsewhere; called after the other
        files are written.  Default: drawn here.
    plots
        Draw ``fit.png`` and write ``report.html`` (a series may leave them out).
    extras
        More files for the directory: name → text, or the path of a file to copy
        (e.g. another engine's project and listing).
    report_extra
        Markdown appended to ``report.md`` (e.g. a cross-engine comparison).

    Returns
    -------
    RefineOutputs
        Paths of the files in their final place.
    """
    target = check_output_dir(out_dir, force).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        names = _write_all(result, tmp, log_text, report_sections,
                           pictures if plots else False, report_extra)
        for name, content in (extras or {}).items():
            if isinstance(content, Path):
                shutil.copyfile(content, tmp / name)
            else:
                atomic_write(tmp / name, content)
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        _move_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return RefineOutputs(
        directory=target,
        result_json=target / RESULT_JSON,
        report=target / REPORT_MD,
        plot=target / FIT_PNG,
        log=target / LOG,
        cifs={n: target / f for n, f in names.items()},
        lebail={n: target / lebail_filename(n) for n, pr in result.phases.items()
                if pr.is_le_bail},
        html=target / "report.html" if plots else None,
        extras=[target / n for n in (extras or {})],
    )


def _write_all(result: Result, where: Path, log_text: str, report_sections: Sections | None,
               pictures: Pictures | None | bool, report_extra: str = "") -> dict[str, str]:
    """Every file into ``where``; ``pictures=False``: no fit.png and no report.html."""
    atomic_write(where / RESULT_JSON, result.dumps())
    names: dict[str, str] = {}
    for name, pr in result.phases.items():
        if pr.is_le_bail:  # no structure, no CIF: its cell is in the report, its intensities
            atomic_write(where / lebail_filename(name), format_lebail_hkl(result, name))
            continue
        fname = cif_filename(name)
        if fname in names.values():  # two names that sanitise alike
            fname = f"{Path(fname).stem}_{len(names) + 1}.cif"
        atomic_write(where / fname, refined_cif(result, name))
        names[name] = fname
    atomic_write(where / REPORT_MD, format_report(result) + report_extra)
    atomic_write(where / LOG, log_text)
    if pictures is False:
        return names
    analysis = list(report_sections(result)) if report_sections is not None else []
    if pictures is None or pictures is True:
        figure = fit_figure(result)  # one figure: fit.png and the SVG of report.html
        plot_fit(result, where / FIT_PNG, figure=figure)
        svg = figure_svg(figure)
    else:  # drawn elsewhere (a second process) while the rest was written
        png, svg = pictures()
        atomic_write(where / FIT_PNG, png)
    # the self-contained HTML report (zoomable plot, symmetry, rings, CIF links), last:
    # it links to the files above
    from xtal.io.report_html import write_report_html

    write_report_html(where, sections=lambda _: analysis, rietveld_svg=svg, result=result)
    return names


def _move_into_place(new: Path, target: Path) -> None:
    if not target.exists():
        os.rename(new, target)
        return
    if not any(target.iterdir()):
        os.rmdir(target)
        os.rename(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rmdir(old)  # only the unique name is wanted
    os.rename(target, old)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)  # put the old results back
        raise
    shutil.rmtree(old, ignore_errors=True)
