"""One GSAS-II project in the worker process: values in and out, refinement steps, curves.

Values are exchanged as GSAS-II variable names (see :mod:`xtal.refine.gsas2.names`);
a refinement step sets GSAS-II's refinement flags, hold and constraint entries, the
cycle limit ("max cyc") and convergence test ("min dM/M", the relative χ² change per
cycle), then calls ``GSASIIstrMain.Refine`` on the saved project — what
``G2Project.refine`` does — with a small progress object in place of the GUI's dialog,
so that every cycle is reported.  Constraint bookkeeping is GSAS-II's own
(``GSASIImapvars``): after a step, every dependent parameter is read back as a
linear combination of the refined ones, for the covariance of xtal's parameters.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from xtal.refine.gsas2.project import build

Report = Callable[[int, float], None]


class _Progress:
    """Stands in for GSAS-II's progress dialog: relays (cycle, Rwp) after each cycle.

    GSAS-II calls ``Update(Rwp, newmsg=...)`` after each function evaluation and
    ``AdvanceCycle(n)`` at the start of cycle n (``GSASIImath.HessianLSQ``).
    """

    def __init__(self, report: Report | None) -> None:
        self.report = report
        self.rwp = float("nan")
        self.cycles = 0

    def Update(self, value: float = 0.0, newmsg: str = "") -> tuple[bool, bool]:  # noqa: N802
        self.rwp = float(value) / 100.0
        return True, False

    def AdvanceCycle(self, cycle: int) -> None:  # noqa: N802
        if cycle >= 1:
            self.cycles = cycle
            if self.report is not None:
                self.report(cycle, self.rwp)


class Session:
    """A GSAS-II project built from a specification (:func:`xtal.refine.gsas2.project.build`)."""

    def __init__(self, spec: dict, workdir: str) -> None:
        self.workdir = Path(workdir)
        self.gpx, self.hist = build(spec, self.workdir)
        self.phase_names = [ph["name"] for ph in spec["phases"]]
        self.mine: dict[str, list] = {"Hist": [], "HAP": [], "Phase": [], "Global": []}

    # -- values -----------------------------------------------------------------------
    def values(self) -> dict[str, float]:
        """Every value xtal maps, by GSAS-II variable name."""
        import GSASII.GSASIIlattice as G2lat

        h = self.hist.data
        ins, sample = h["Instrument Parameters"][0], h["Sample Parameters"]
        g = {f":0:{k}": float(ins[k][1]) for k in ("Zero", "U", "V", "W", "X", "Y", "Z", "SH/L")}
        g[":0:Shift"], g[":0:Scale"] = float(sample["Shift"][0]), float(sample["Scale"][0])
        bg = h["Background"]
        g.update({f":0:Back;{i}": float(v) for i, v in enumerate(bg[0][3:])})
        for i, pk in enumerate(bg[1]["peaksList"]):
            for k, j in (("pos", 0), ("int", 2), ("sig", 4), ("gam", 6)):
                g[f":0:BkPk{k};{i}"] = float(pk[j])
        for pid, name in enumerate(self.phase_names):
            p = self.gpx.phase(name)
            a = G2lat.cell2A(p.data["General"]["Cell"][1:7])
            g.update({f"{pid}::A{i}": float(v) for i, v in enumerate(a)})
            for i, at in enumerate(p.data["Atoms"]):
                for k, j in (("Ax", 3), ("Ay", 4), ("Az", 5), ("Afrac", 6), ("AUiso", 10)):
                    g[f"{pid}::{k}:{i}"] = float(at[j])
            hap = p.data["Histograms"][self.hist.name]
            g[f"{pid}:0:Scale"] = float(hap["Scale"][0])
            g[f"{pid}:0:MD"] = float(hap["Pref.Ori."][1])
            g[f"{pid}:0:Size;i"] = float(hap["Size"][1][0])
            g[f"{pid}:0:Mustrain;i"] = float(hap["Mustrain"][1][0])
        return g

    def set_values(self, g: dict[str, float]) -> None:
        """Write GSAS-II values (names as :meth:`values` gives them) into the project."""
        import GSASII.GSASIIlattice as G2lat

        for name, v in g.items():
            pid, hid, key, *atom = name.split(":")
            if not pid:
                self._set_hist(key, v)
            elif atom:
                col = {"Ax": 3, "Ay": 4, "Az": 5, "Afrac": 6, "AUiso": 10}[key]
                self.gpx.phase(self.phase_names[int(pid)]).data["Atoms"][int(atom[0])][col] = v
            elif hid:
                p = self.gpx.phase(self.phase_names[int(pid)])
                _set_hap(p.data["Histograms"][self.hist.name], key, v)
        for pid, name in enumerate(self.phase_names):
            if any(f"{pid}::A{i}" in g for i in range(6)):
                gen = self.gpx.phase(name).data["General"]
                a = [g.get(f"{pid}::A{i}", v) for i, v in
                     enumerate(G2lat.cell2A(gen["Cell"][1:7]))]
                gen["Cell"][1:7] = list(G2lat.A2cell(a))
                gen["Cell"][7] = G2lat.calc_V(a)

    # -- refinement ---------------------------------------------------------------------
    def refine(self, flags: dict, constraints: list, cycles: int, tolerance: float,
               report: Report | None = None) -> dict:
        """One refinement step; returns what happened and the covariance of the refined set."""
        import GSASII.GSASIIstrIO as G2stIO
        import GSASII.GSASIIstrMain as G2strMain

        self._flags(flags)
        self._constraints(constraints)
        controls = self.gpx.data["Controls"]["data"]
        controls["max cyc"] = int(cycles)
        controls["min dM/M"] = float(tolerance)
        self.gpx.index_ids()  # saves the project
        errmsg, warnmsg = G2stIO.ReadCheckConstraints(self.gpx.filename)
        if errmsg:
            return {"ok": False, "msg": f"GSAS-II constraint error: {errmsg}", "cycles": 0}
        dlg = _Progress(report)
        ok, rvals = G2strMain.Refine(self.gpx.filename, dlg=dlg, makeBack=False)
        self.gpx.reload()
        frozen = self.gpx.data["Controls"]["data"].get("parmFrozen", {}).get("FrozenList", [])
        out = {"ok": bool(ok), "cycles": dlg.cycles, "rvals": _plain(rvals),
               "frozen": [str(v) for v in frozen],
               "msg": str(rvals.get("msg", "") or ""), "warnings": str(warnmsg or "")}
        if ok:
            cov = self.gpx.data["Covariance"]["data"]
            out["vary"] = [str(v) for v in cov.get("varyList", [])]
            out["cov"] = np.asarray(cov.get("covMatrix", np.zeros((0, 0))), float)
            out["dependent"] = _dependencies()
        return out

    def compute(self) -> None:
        """Calculate the pattern at the current values (a refinement of 0 cycles)."""
        import GSASII.GSASIIstrMain as G2strMain

        controls = self.gpx.data["Controls"]["data"]
        cycles, controls["max cyc"] = controls["max cyc"], 0
        self.gpx.index_ids()  # saves the project
        G2strMain.Refine(self.gpx.filename, makeBack=False)
        self.gpx.reload()
        self.gpx.data["Controls"]["data"]["max cyc"] = cycles

    def _flags(self, flags: dict) -> None:
        h = self.hist.data
        ins, sample, bg = h["Instrument Parameters"][0], h["Sample Parameters"], h["Background"]
        for k in ins:
            if isinstance(ins[k], list) and len(ins[k]) == 3:
                ins[k][2] = k in flags["instrument"]
        for k in ("Shift", "Scale"):
            sample[k][1] = k in flags["sample"]
        bg[0][1] = bool(flags["background"])
        for pk, want in zip(bg[1]["peaksList"], flags["peaks"], strict=True):
            pk[1], pk[3], pk[5], pk[7] = (bool(w) for w in want)
        for pid, name in enumerate(self.phase_names):
            p = self.gpx.phase(name)
            f = flags["phases"][pid]
            p.data["General"]["Cell"][0] = bool(f["cell"])
            for i, at in enumerate(p.data["Atoms"]):
                at[2] = f["atoms"][i]  # refinement flags "F", "X", "U" (nuclear record [2])
            hap = p.data["Histograms"][self.hist.name]
            hap["Scale"][1] = bool(f["scale"])
            hap["Pref.Ori."][2] = bool(f["po"])
            hap["Size"][2][0] = bool(f["size"])
            hap["Mustrain"][2][0] = bool(f["microstrain"])

    def _constraints(self, constraints: list) -> None:
        """Replace the constraints of the previous step by ``constraints``.

        Each is ``("h", [name])``, ``("e", [names], [multipliers])`` or
        ``("c", total, [names], [multipliers])`` in GSAS-II's variable names.
        """
        stored = self.gpx.data["Constraints"]["data"]
        for kind, added in self.mine.items():
            stored[kind] = [c for c in stored[kind] if not any(c is a for a in added)]
            added.clear()
        for c in constraints:
            before = {k: list(stored[k]) for k in self.mine}
            if c[0] == "h":
                self.gpx.add_HoldConstr(c[1], reloadIdx=False, override=True)
            elif c[0] == "e":
                self.gpx.add_EquivConstr(c[1], c[2], reloadIdx=False, override=True)
            else:
                self.gpx.add_EqnConstr(c[1], c[2], c[3], reloadIdx=False, override=True)
            for k in self.mine:
                self.mine[k] += [e for e in stored[k] if not any(e is b for b in before[k])]

    # -- read-back ------------------------------------------------------------------------
    def curves(self) -> dict:
        """Observed/calculated/background curves, each phase's curve and reflection list."""
        import numpy.ma as ma

        d = self.hist.data["data"][1]
        x, yo, w, yc, yb = (np.asarray(ma.getdata(a), float) for a in d[:5])
        parts = self._partials() if len(self.phase_names) > 1 else {self.phase_names[0]: yc - yb}
        refl = {}
        for name in self.phase_names:
            lst = self.hist.data["Reflection Lists"].get(name, {}).get("RefList")
            refl[name] = np.asarray(lst if lst is not None else np.zeros((0, 12)), float)
        ins = self.hist.data["Instrument Parameters"][0]
        lam = [float(ins[k][1]) for k in ("Lam1", "Lam2") if k in ins] or [float(ins["Lam"][1])]
        ratio = float(ins["I(L2)/I(L1)"][1]) if "Lam2" in ins else 0.0
        return {"x": x, "observed": yo, "weight": w, "calculated": yc, "background": yb,
                "phases": parts, "reflections": refl, "wavelengths": lam, "ratio": ratio}

    def _partials(self) -> dict[str, np.ndarray]:
        """Each phase's curve from GSAS-II's own "phase partials" (a 0-cycle pass on a copy).

        The copy keeps the project's covariance intact (a 0-cycle pass stores none).
        """
        import GSASII.GSASIIscriptable as G2sc
        import GSASII.GSASIIstrMain as G2strMain

        copy = self.workdir / "partials.gpx"
        self.gpx.save()  # the values as they stand (e.g. a size set back after a refinement)
        shutil.copyfile(self.gpx.filename, copy)
        proj = G2sc.G2Project(gpxfile=str(copy))
        target = self.workdir / "partials.pickle"
        controls = proj.data["Controls"]["data"]
        controls["max cyc"], controls["PhasePartials"] = 0, str(target)
        proj.save()
        G2strMain.Refine(str(copy), makeBack=False)
        out: dict[str, np.ndarray] = {}
        with open(target, "rb") as fh:
            pickle.load(fh), pickle.load(fh), pickle.load(fh), pickle.load(fh)  # None, hId, x, yb
            while True:
                try:
                    name = pickle.load(fh)
                except EOFError:
                    break
                if name is None:
                    break
                out[name] = np.asarray(pickle.load(fh), float)
        return out

    def mass_fractions(self) -> dict[str, tuple[float, float]]:
        """GSAS-II's own weight fractions and s.u.'s (``G2PwdrData.ComputeMassFracs``)."""
        return {k: (float(v), float(e)) for k, (v, e) in self.hist.ComputeMassFracs().items()}

    def save(self, path: str) -> None:
        """Copy the project (and its ``.lst``) to ``path`` (``.gpx``)."""
        self.gpx.save()
        shutil.copyfile(self.gpx.filename, path)


    def _set_hist(self, key: str, v: float) -> None:
        h = self.hist.data
        ins, sample, bg = h["Instrument Parameters"][0], h["Sample Parameters"], h["Background"]
        base, _, idx = key.partition(";")
        if base in ins:
            ins[base][1] = v
        elif base in ("Shift", "Scale"):
            sample[base][0] = v
        elif base == "Back":
            bg[0][3 + int(idx)] = v
        else:  # a background peak: BkPkpos, BkPkint, BkPksig, BkPkgam
            j = {"BkPkpos": 0, "BkPkint": 2, "BkPksig": 4, "BkPkgam": 6}[base]
            bg[1]["peaksList"][int(idx)][j] = v


def _set_hap(hap: dict, leaf: str, v: float) -> None:
    if leaf == "Scale":
        hap["Scale"][0] = v
    elif leaf == "MD":
        hap["Pref.Ori."][1] = v
    elif leaf == "Size;i":
        hap["Size"][1][0] = v
    elif leaf == "Mustrain;i":
        hap["Mustrain"][1][0] = v


def _dependencies() -> dict[str, dict[str, float]]:
    """Each dependent GSAS-II parameter as a linear combination of independent ones.

    From GSAS-II's constraint tables (``GSASIImapvars``) as its last refinement left
    them: dependent_i = Σ_j M_ij · independent_j (the matrix it uses for the s.u.'s of
    dependent parameters, ``ComputeDepESD``).
    """
    import GSASII.GSASIImapvars as G2mv

    out: dict[str, dict[str, float]] = {}
    for deps, inds, inv in zip(G2mv.dependentParmList, G2mv.indParmList, G2mv.invarrayList,
                               strict=False):
        for dep, row in zip(deps, np.asarray(inv, float), strict=False):
            out[str(dep)] = {str(i): float(c) for i, c in zip(inds, row, strict=False) if c}
    return out


def _plain(rvals: dict) -> dict:
    """The numbers of GSAS-II's ``Rvals`` as plain floats (picklable without GSAS-II)."""
    out = {}
    for k, v in rvals.items():
        if isinstance(v, bool | int | float | np.floating | np.integer | str):
            out[k] = v.item() if hasattr(v, "item") else v
    return out
