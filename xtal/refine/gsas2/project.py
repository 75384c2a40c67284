"""Build a GSAS-II project from a plain specification (runs in the GSAS-II worker process).

Everything goes through GSAS-II's scripting API (``GSASII.GSASIIscriptable``): the
histogram is read by its "xye" importer from the points xtal fits (2θ, intensity, σ;
GSAS-II's weights are 1/σ²), the instrument by its ``.instprm`` reader, phases are
created with ``G2Project.add_phase`` from a space-group symbol and cell and filled
with ``G2Phase.add_atom``, background peaks with ``G2PwdrData.add_back_peak`` and
distance restraints with GSAS-II's own bond search.  The specification is built by
:mod:`xtal.refine.gsas2.plan` from xtal's value objects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xtal.errors import InputError

GPX_NAME = "gsas2.gpx"


def write_inputs(spec: dict, workdir: Path) -> tuple[Path, Path]:
    """The data (``.xye``) and instrument (``.instprm``) files GSAS-II reads."""
    data = workdir / "data.xye"
    cols = np.column_stack([spec["x"], spec["y"], spec["sigma"]])
    np.savetxt(data, cols, fmt="%.17g", header="2theta intensity esd (written by xtal)")
    inst = workdir / "instrument.instprm"
    inst.write_text(instprm_text(spec["instrument"]), encoding="utf-8")
    return data, inst


def instprm_text(ins: dict) -> str:
    """GSAS-II ``.instprm`` text (one ``key:value`` per line, GSAS-II's own key names)."""
    lines = ["#GSAS-II instrument parameter file; written by xtal", "Type:PXC"]
    if ins.get("lam2"):
        lines += [f"Lam1:{ins['lam1']!r}", f"Lam2:{ins['lam2']!r}",
                  f"I(L2)/I(L1):{ins['ratio']!r}"]
    else:
        lines.append(f"Lam:{ins['lam1']!r}")
    lines += [f"Zero:{ins['zero']!r}", f"Polariz.:{ins['polarization']!r}", "Azimuth:0.0"]
    lines += [f"{k}:{ins[k]!r}" for k in ("U", "V", "W", "X", "Y", "Z", "SH/L")]
    return "\n".join(lines) + "\n"


def build(spec: dict, workdir: Path):
    """A saved G2Project holding the histogram, the phases and the restraints of ``spec``."""
    import GSASII.GSASIIscriptable as G2sc

    data, inst = write_inputs(spec, workdir)
    gpx = G2sc.G2Project(newgpx=str(workdir / GPX_NAME))
    hist = gpx.add_powder_histogram(str(data), str(inst), fmthint="xye")
    _exact(hist, spec["y"], 1.0 / np.asarray(spec["sigma"]) ** 2)
    if spec.get("fixed_background") is not None:
        _fixed_background(gpx, hist, spec, workdir, inst)
    _sample(hist, spec["instrument"])
    _background(hist, spec["background"])
    for ph in spec["phases"]:
        _phase(gpx, hist, ph)
    for r in spec.get("restraints", []):
        _restraint(gpx, r)
    controls = gpx.data["Controls"]["data"]
    controls["Author"] = "xtal"
    gpx.save()
    return gpx, hist


def _exact(hist, y, w) -> None:
    """The intensities and weights exactly as xtal fits them.

    GSAS-II's xye importer gives points with y ≤ 0 zero weight; xtal keeps them with
    its guarded σ (physics.md §7), so the arrays are set here.
    """
    d = hist.data["data"][1]
    d[1][:] = np.asarray(y, float)
    d[2][:] = np.asarray(w, float)


def _fixed_background(gpx, hist, spec: dict, workdir: Path, inst: Path) -> None:
    """A fixed background as GSAS-II keeps one: a histogram of its own, referenced from the
    data's background ("background PWDR", multiplier 1, not refined)."""
    path = workdir / "fixed_background.xye"
    fb = np.asarray(spec["fixed_background"], float)
    np.savetxt(path, np.column_stack([spec["x"], fb, np.ones_like(fb)]), fmt="%.17g",
               header="fixed background (written by xtal)")
    back = gpx.add_powder_histogram(str(path), str(inst), fmthint="xye")
    _exact(back, fb, np.ones_like(fb))
    hist.data["Background"][1]["background PWDR"] = [back.name, 1.0, False]


def _sample(hist, ins: dict) -> None:
    sample = hist.data["Sample Parameters"]
    sample["Type"] = "Bragg-Brentano"  # the displacement is GSAS-II's BB "Shift"
    # GSAS-II gives a single-wavelength histogram Debye-Scherrer items only; a BB
    # calculation also reads these (held at 0, as GSAS-II's own BB import sets them)
    for key in ("Transparency", "SurfRoughA", "SurfRoughB"):
        sample.setdefault(key, [0.0, False])
    sample["Gonio. radius"] = float(ins["radius"])
    sample["Shift"] = [float(ins["displacement"]), False]
    sample["Scale"] = [1.0, False]  # held: each phase fraction carries its scale


def _background(hist, bg: dict) -> None:
    n = max(int(bg["n_chebyshev"]), 1)  # GSAS-II needs one term; a zero one is held
    coeffs = list(bg.get("coefficients") or [0.0] * n)
    coeffs += [0.0] * (n - len(coeffs))
    hist.data["Background"][0] = ["chebyschev-1", False, n, *map(float, coeffs[:n])]
    for pos, area, sig, gam in bg.get("peaks", []):
        hist.add_back_peak(float(pos), float(area), float(sig), float(gam))


def _phase(gpx, hist, ph: dict) -> None:
    p = gpx.add_phase(phasename=ph["name"], spacegroup=ph["symbol"], cell=list(ph["cell"]),
                      histograms=[hist])
    if p.name != ph["name"]:
        raise InputError(f"GSAS-II renamed phase {ph['name']!r} to {p.name!r}")
    _check_operations(p, ph)
    for at in ph["atoms"]:
        rec = p.add_atom(*at["xyz"], at["element"], at["label"], occ=at["occ"], uiso=at["uiso"])
        if at.get("uaniso") is not None:
            rec.data[9] = "A"  # nuclear atom record: [9] I/A, [11:17] U11 … U23
            rec.data[11:17] = [float(u) for u in at["uaniso"]]
    hap = p.data["Histograms"][hist.name]
    hap["Scale"] = [float(ph["fraction"]), False]
    hap["Pref.Ori."][1] = float(ph["po_ratio"])
    hap["Pref.Ori."][3] = list(ph["po_axis"] or (0, 0, 1))
    hap["Size"][1][:] = [float(ph["size"]), float(ph["size"]), float(ph["mix"])]
    hap["Mustrain"][1][:] = [float(ph["microstrain"]), float(ph["microstrain"]), float(ph["mix"])]


def _check_operations(p, ph: dict) -> None:
    """GSAS-II must use the same setting as xtal (e.g. the same origin choice)."""
    sg = p.data["General"]["SGData"]
    mine = {_op_key(r, t) for r, t in ph["operations"]}
    theirs = set()
    for cen in sg["SGCen"]:
        for m, t in sg["SGOps"]:
            theirs.add(_op_key(m, np.asarray(t) + cen))
            if sg["SGInv"]:
                theirs.add(_op_key(-np.asarray(m), -np.asarray(t) + cen))
    if mine != theirs:
        raise InputError(
            f"phase {ph['name']}: GSAS-II reads '{ph['symbol']}' in another setting than the "
            f"phase's symmetry operators (e.g. the other origin choice); transform the CIF to "
            f"GSAS-II's standard setting first"
        )


def _op_key(rot, tr) -> tuple:
    r = tuple(int(v) for v in np.rint(np.asarray(rot, float)).ravel())
    t = tuple(int(v) for v in np.rint((np.asarray(tr, float) % 1.0) * 24) % 24)
    return r + t


def _restraint(gpx, r: dict) -> None:
    """One distance restraint between the two sites at their current shortest distance."""
    import GSASII.GSASIIlattice as G2lat
    import GSASII.GSASIImath as G2mth

    p = gpx.phase(r["phase"])
    rest = gpx.data["Restraints"]["data"].setdefault(p.name, {})
    bonds = rest.setdefault("Bond", {"wtFactor": 1.0, "Range": 1.1, "Bonds": [], "Use": True})
    a, b = p.atom(r["site1"]), p.atom(r["site2"])
    gen = p.data["General"]
    amat = G2lat.cell2AB(gen["Cell"][1:7])[0]
    found = G2mth.searchBondRestr(
        [[a.ranId, a.element, list(a.coordinates)]], [[b.ranId, b.element, list(b.coordinates)]],
        float(r["current"]), 1.0 + 1e-4, gen["Type"], gen["SGData"], amat, float(r["sigma"]))
    if not found:
        raise InputError(f"restraint {r['site1']}–{r['site2']}: GSAS-II finds no such distance")
    bond = found[0]  # one bond, as xtal restrains the shortest distance once
    bond[-2], bond[-1] = float(r["target"]), float(r["sigma"])
    bonds["Bonds"].append(bond)
