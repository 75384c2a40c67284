"""Instrument parameter files: GSAS-II ``.instprm`` and old GSAS ``.prm``/``.ins``.

:func:`read_instrument` recognises the format by content, not by name, and returns
an :class:`~xtal.diffraction.instrument.Instrument` whose fields mean what GSAS-II's
constant-wavelength instrument parameters mean (physics.md §§2–5).
:func:`write_instprm` / :func:`format_instprm` write GSAS-II's ``.instprm`` format.

GSAS-II ``.instprm`` (text)
    ``key:value`` items, one per line or several joined by ``;`` (spaces inside a
    line are ignored, as GSAS-II's ``ReadInstprm`` removes them); ``#`` lines are
    comments. Keys and units: ``Type`` (PXC, constant-wavelength X-ray; neutron
    types PNC/PNT are refused until xtal computes neutron scattering), ``Bank``,
    ``Lam1``/``Lam2`` (Å) with ``I(L2)/I(L1)``, or ``Lam`` for a single wavelength,
    ``Zero`` (degrees 2θ, added), ``Polariz.`` (P in pol = P + (1 − P) cos² 2θ),
    ``Azimuth`` (degrees), ``U``, ``V``, ``W`` (centidegrees², Gaussian variance),
    ``X``, ``Y``, ``Z`` (centidegrees, Lorentzian FWHM) and ``SH/L``. A file saved
    with "Save all profiles" holds several banks, each after a ``#Bank N: ...``
    line; bank 1 (or the lowest) is read by default.
    Recent GSAS-II versions also write ``Gonio. radius`` (mm), ``Diff-type`` and
    ``InstrName`` items, which are sample parameters there; ``Gonio. radius`` is
    read as :attr:`Instrument.radius`, the other two are ignored. Source:
    GSAS-II ``GSASIIfiles.ReadInstprm``/``WriteInstprm`` and ``defaultIparms.py``
    (repository AdvancedPhotonSource/GSAS-II).

Old GSAS instrument parameter file (``.prm``, ``.PRM``, ``.ins``; fixed columns)
    Records ``INS`` + bank number (columns 4–6) + name (columns 7–12) + value
    (from column 13). Read as GSAS-II's ``SetPowderInstParms`` reads them:

    * ``INS   HTYPE``: histogram type; its first three letters must be PXC (PNC,
      neutron, is refused until xtal computes neutron scattering).
    * ``INS  n ICONS``: λ1 (line columns 13–22), λ2 (23–32), zero in centidegrees
      (33–42, divided by 100 to degrees), polarisation POLA (53–62, copied
      unchanged to ``Polariz.``), IPOLA (63–67, ignored, as GSAS-II does) and
      KRATIO = I(λ2)/I(λ1) (68–77); blank fields are 0. λ2 = 0 means a single
      wavelength (R. B. Von Dreele, Rietveld_L, May 2000: "KRATIO is ignored if
      LAM2=0"; GSAS-II then writes ``Lam``).
    * ``INS  nPRCF1``: profile type, number of coefficients, peak cut-off; the
      coefficients follow in ``INS  nPRCF11``, ``PRCF12``, … four to a line (an
      older spelling ``PRCF`` / ``PRCF 1`` / ``PRCF 2`` is also accepted). The
      coefficient order per profile type is GSAS's (as listed by EXPGUI):

      - 1: GU GV GW asym F1 F2
      - 2: GU GV GW LX LY trns asym shft GP …
      - 3 and 5: GU GV GW GP LX LY S/L H/L trns shft …
      - 4: GU GV GW GP LX ptec trns shft sfec S/L H/L eta …

      GU, GV, GW → U, V, W and LX, LY → X, Y unchanged (same units in GSAS and
      GSAS-II); Z = 0. ``SH/L = S/L + H/L``: GSAS-II's import states this sum
      (its comment "S+H/L" and ``float(v[2]) + float(v[3])``), and it matches the
      meaning of SH/L as (S + H)/L (physics.md §5). Note that GSAS-II's own
      import never reaches that branch (it compares the string type field with
      the integer 3) and so always falls back to X = Y = Z = 0, SH/L = 0.002;
      xtal follows the stated intent instead. Types 1 and 2 carry no S/L, H/L
      (type 2's "asym" is a different, Howard-type correction), so SH/L takes
      GSAS-II's default 0.002; type 1 has no Lorentzian, so X = Y = 0; type 4 has
      no LY, so Y = 0. GP (a 1/cos²θ Gaussian term) has no GSAS-II equivalent and
      is dropped, as GSAS-II drops it. ``INS  nDETAZM`` gives the azimuth if present.

Goniometer radius and sample displacement
    Neither is an instrument parameter in GSAS-II: the radius is the sample
    parameter "Gonio. radius" (GSAS-II's default 200 mm, ``SetDefaultSample``) and
    the displacement is the sample parameter "Shift" (µm). A radius stated by the
    file — the ``Gonio. radius`` item, the ``#xtal: radius=`` comment, or a comment
    such as ``# goniometer radius = 240 mm`` — is read (10–2000 mm); a file without
    one gives the :class:`Instrument` default (200 mm, as GSAS-II); a file never sets
    a displacement (0). :func:`format_instprm` appends one comment line
    ``#xtal: radius=<mm> displacement=<µm>`` (plus ``ratio=`` for a single
    wavelength, whose I(L2)/I(L1) GSAS-II does not store) so that a round trip is
    lossless. It is the last line: GSAS-II's reader stops at the first comment
    after the parameters, so it neither sees nor stores it.

Checks
    Stated wavelengths must lie in 0.05–5 Å, I(L2)/I(L1) in 0–1, the zero within ±10°;
    every number must be finite; files over 1 MiB are not instrument files.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from pathlib import Path

from xtal.diffraction.instrument import Instrument
from xtal.errors import InputError
from xtal.util.files import atomic_write, check_writable

__all__ = ["format_instprm", "read_instrument", "write_instprm"]

PathLike = str | os.PathLike[str]

_HEADER = "#GSAS-II instrument parameter file; do not add/delete items!"
_XTAL_TAG = "#xtal:"
_TYPES = {"PXC": "xray", "PNC": "neutron"}
_TYPE_OF = {v: k for k, v in _TYPES.items()}
_NEUTRON = ("PNC", "PNT", "PNB")
_MAX_BYTES = 2**20
WAVELENGTH_RANGE = (0.05, 5.0)  # Å, as for pattern files (xtal.io.formats._common)
RADIUS_RANGE = (10.0, 2000.0)  # mm
_RADIUS_COMMENT = re.compile(r"gonio(?:meter)?\.?[ \t]{0,4}+radius[^0-9\n]{0,20}+"
                             r"([0-9]{1,5}+(?:\.[0-9]{0,6}+)?+)", re.I)
_GSAS2_DEFAULT_SHL = 0.002  # GSAS-II's SH/L when a GSAS file gives no S/L, H/L

# instprm keys read as numbers, in the order GSAS-II writes them
_NUMERIC = ("Bank", "Lam", "Lam1", "Lam2", "I(L2)/I(L1)", "Zero", "Polariz.", "Azimuth",
            "U", "V", "W", "X", "Y", "Z", "SH/L", "Gonio.radius")
_PROFILE_REQUIRED = ("U", "V", "W", "X", "Y", "SH/L")

_PRM_RECORD = re.compile(r"^INS[ 0-9]{3}[A-Z ]")
_BANK_HEADER = re.compile(r"^#[ \t]*+Bank[ \t]++(\d{1,6}+)[ \t]*+:")
_PRCF_LABELS = frozenset({"GU", "GV", "GW", "GP", "LX", "LY", "S/L", "H/L", "TRNS", "SHFT",
                          "SFEC", "PTEC", "STEC", "ASYM", "ETA"})


# --------------------------------------------------------------------------- reading


def read_instrument(path: PathLike, bank: int | None = None) -> Instrument:
    """Read a GSAS-II ``.instprm`` or GSAS ``.prm`` instrument file (format sniffed).

    Parameters
    ----------
    path
        The file. Its name does not matter; the content decides the format.
    bank
        Bank to read from a multi-bank file (``#Bank N:`` sections of an
        ``.instprm``; ``INS  N`` records of a ``.prm``). None: bank 1 if present,
        else the lowest.

    Returns
    -------
    Instrument
        Values in GSAS-II's constant-wavelength units (see the module docstring);
        ``source`` is the file path, ``displacement`` 0 unless an xtal comment
        line gives it.

    Raises
    ------
    InputError
        One line naming the file: unreadable file, unknown format, missing
        wavelength, non-numeric value, wavelength ≤ 0, a Type other than PXC/PNC,
        a bank that is not in the file.
    """
    p = Path(path)
    text = _read_text(p)
    lines = text.splitlines()
    try:
        if any(_PRM_RECORD.match(line) for line in lines):
            return _parse_prm(lines, p, bank)
        if _looks_like_instprm(lines):
            return _parse_instprm(lines, p, bank)
    except InputError as err:
        if err.path is None:
            raise InputError(err.message, p) from err
        raise
    raise InputError(
        "not an instrument parameter file (neither GSAS-II .instprm 'key:value' lines "
        "nor GSAS .prm 'INS' records)", p)


def _read_text(p: Path) -> str:
    from xtal.io.formats._common import FormatError, decode_text
    from xtal.util.files import read_bounded

    if p.is_dir():
        raise InputError("is a directory, not an instrument parameter file", p)
    raw = read_bounded(p, _MAX_BYTES, "instrument parameter")
    if not raw.strip():
        raise InputError("empty file, not an instrument parameter file", p)
    try:
        text = decode_text(raw)  # UTF-8 (BOM or not), UTF-16, else Latin-1
    except FormatError as err:
        raise InputError(f"not an instrument parameter file ({err})", p) from None
    if "\x00" in text:
        raise InputError("binary file, not an instrument parameter file", p)
    return text


def _looks_like_instprm(lines: list[str]) -> bool:
    for line in lines:
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            if "GSAS-II" in s:
                return True
            continue
        keys = {item.split(":", 1)[0].replace(" ", "") for item in s.split(";")}
        if keys & {"Type", "Lam", "Lam1"}:
            return True
    return False


def _short(value: str) -> str:
    """A file fragment quoted in an error message (kept short)."""
    v = value.strip()
    return repr(v if len(v) <= 40 else v[:37] + "...")


def _number(key: str, value: str, where: str = "") -> float:
    try:
        x = float(value)
    except ValueError:
        raise InputError(f"{where}{key} value {_short(value)} is not a number") from None
    if not math.isfinite(x):
        raise InputError(f"{where}{key} value {_short(value)} is not a finite number")
    return x


def _make(path: Path, names: tuple[str, str], **values: float | str | None) -> Instrument:
    """Build the Instrument, checking stated values first under the file's ``names``."""
    lo, hi = WAVELENGTH_RANGE
    for field, label in zip(("lam1", "lam2"), names, strict=True):
        lam = values.get(field)
        if isinstance(lam, float) and lam <= 0:
            raise InputError(f"wavelength {label} = {lam!r} Å must be positive", path)
        if isinstance(lam, float) and not lo <= lam <= hi:
            raise InputError(f"wavelength {label} = {lam!r} Å is outside {lo:g}–{hi:g} Å", path)
    ratio = values.get("ratio")
    if isinstance(ratio, float) and not 0 <= ratio <= 1:
        raise InputError(f"Kα2/Kα1 ratio I(L2)/I(L1) = {ratio!r} is outside 0–1", path)
    zero = values.get("zero")
    if isinstance(zero, float) and abs(zero) > 10:
        raise InputError(f"zero = {zero!r}° is beyond ±10° (an instrument zero is a small "
                         "correction)", path)
    radius = values.get("radius")
    if isinstance(radius, float) and not RADIUS_RANGE[0] <= radius <= RADIUS_RANGE[1]:
        raise InputError(f"goniometer radius {radius!r} mm is outside "
                         f"{RADIUS_RANGE[0]:g}–{RADIUS_RANGE[1]:g} mm", path)
    try:
        return Instrument(source=str(path), **values)  # type: ignore[arg-type]
    except InputError as err:
        raise InputError(err.message, path) from err


# ------------------------------------------------------------------ GSAS-II .instprm


def _parse_instprm(lines: list[str], path: Path, bank: int | None) -> Instrument:
    # split into sections: None = outside any '#Bank N:' section
    sections: dict[int | None, list[tuple[int, str]]] = {None: []}
    current: int | None = None
    for lineno, line in enumerate(lines, 1):
        m = _BANK_HEADER.match(line.strip())
        if m:
            current = int(m.group(1))
            sections.setdefault(current, [])
            continue
        sections[current].append((lineno, line))
    banks = sorted(k for k in sections if k is not None)
    if banks:
        chosen = bank if bank is not None else (1 if 1 in banks else banks[0])
        if chosen not in banks:
            listed = ", ".join(str(b) for b in banks)
            raise InputError(f"bank {chosen} is not in the file (banks: {listed})", path)
        body = sections[None] + sections[chosen]
    else:
        body = sections[None]
    items, extra = _instprm_items(body)

    if not banks and bank is not None:
        file_bank = int(_number("Bank", items["Bank"][1], f"line {items['Bank'][0]}: ")) \
            if "Bank" in items else 1
        if bank != file_bank:
            raise InputError(f"bank {bank} is not in the file (it holds bank {file_bank} only)",
                             path)

    if "Type" not in items:
        raise InputError("missing Type (PXC or PNC)", path)
    type_line, type_value = items["Type"]
    kind = type_value.strip()
    if kind[:3] in _NEUTRON:
        raise InputError(f"line {type_line}: Type {_short(kind)} is a neutron instrument; xtal "
                         "computes X-ray scattering only, so neutron data cannot be used yet",
                         path)
    if kind not in _TYPES:
        raise InputError(
            f"line {type_line}: Type {_short(kind)} is not supported; only constant-wavelength "
            "powder X-ray (PXC) or neutron (PNC) instrument files can be used", path)
    radiation = _TYPES[kind]

    num: dict[str, float] = {}
    for key in _NUMERIC:
        if key in items:
            lineno, value = items[key]
            num[key] = _number(key, value, f"line {lineno}: ")

    values: dict[str, float | str | None] = {"radiation": radiation}
    if "Lam1" in num:
        if "Lam" in num:
            raise InputError("both Lam and Lam1 are given; use Lam1/Lam2 or Lam", path)
        for key in ("Lam2", "I(L2)/I(L1)"):
            if key not in num:
                raise InputError(f"Lam1 is given but {key} is missing", path)
        values.update(lam1=num["Lam1"], lam2=num["Lam2"], ratio=num["I(L2)/I(L1)"])
    elif "Lam" in num:
        values.update(lam1=num["Lam"], lam2=None)
        if "ratio" in extra:
            values["ratio"] = extra["ratio"]
    else:
        raise InputError("missing wavelength: no Lam1 (with Lam2) and no Lam", path)

    missing = [k for k in _PROFILE_REQUIRED if k not in num]
    if "Polariz." not in num and radiation == "xray":
        missing.insert(0, "Polariz.")
    if missing:
        raise InputError(f"missing {', '.join(missing)}", path)

    values.update(
        zero=num.get("Zero", 0.0),
        polarization=num.get("Polariz.", 0.0),  # GSAS-II ignores it for neutrons
        azimuth=num.get("Azimuth", 0.0),
        U=num["U"], V=num["V"], W=num["W"], X=num["X"], Y=num["Y"], Z=num.get("Z", 0.0),
        sh_l=num["SH/L"],
    )
    if "radius" in extra:
        values["radius"] = extra["radius"]
    elif "Gonio.radius" in num:
        values["radius"] = num["Gonio.radius"]
    elif "comment_radius" in extra:
        values["radius"] = extra["comment_radius"]
    if "displacement" in extra:
        values["displacement"] = extra["displacement"]
    return _make(path, ("Lam1" if "Lam1" in num else "Lam", "Lam2"), **values)


def _instprm_items(
    body: Iterable[tuple[int, str]],
) -> tuple[dict[str, tuple[int, str]], dict[str, float]]:
    """``key -> (line number, raw value)`` of the data lines, and the xtal comment values."""
    items: dict[str, tuple[int, str]] = {}
    extra: dict[str, float] = {}
    delim: str | None = None
    for lineno, line in body:
        s = line.strip()
        if delim is not None:  # inside a multi-line ''' or """ value: skip it
            if delim in s:
                delim = None
            continue
        if not s:
            continue
        if s.startswith(_XTAL_TAG):
            extra.update(_xtal_comment(s[len(_XTAL_TAG):], lineno))
            continue
        if s.startswith("#"):
            m = _RADIUS_COMMENT.search(s[:200])
            if m and "comment_radius" not in extra:
                extra["comment_radius"] = float(m.group(1))
            continue
        for q in ('"""', "'''"):
            if q in s:
                if s.count(q) == 1:
                    delim = q
                break
        else:
            for part in s.split(";"):
                if not part.strip():
                    continue
                if ":" not in part:
                    raise InputError(f"line {lineno}: {_short(part)} is not a key:value item")
                key, value = part.replace(" ", "").split(":", 1)
                items[key] = (lineno, value)
    return items, extra


def _xtal_comment(text: str, lineno: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for token in text.split():
        if "=" not in token:
            continue
        key, value = token.split("=", 1)
        if key in ("radius", "displacement", "ratio"):
            out[key] = _number(f"xtal {key}", value, f"line {lineno}: ")
    return out


# ------------------------------------------------------------------------ GSAS .prm


def _parse_prm(lines: list[str], path: Path, bank: int | None) -> Instrument:
    records: dict[tuple[int | None, str], tuple[int, str]] = {}
    for lineno, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not _PRM_RECORD.match(line):
            continue
        num = line[3:6].strip()
        if num and not num.isdigit():
            continue
        records[(int(num) if num else None, line[6:12].strip())] = (lineno, line[12:])

    if (None, "HTYPE") not in records:
        raise InputError("GSAS instrument file has no 'INS   HTYPE' record", path)
    htype = records[(None, "HTYPE")][1].strip()
    if htype[:3] in _NEUTRON:
        raise InputError(f"histogram type {_short(htype)} is a neutron instrument; xtal computes "
                         "X-ray scattering only, so neutron data cannot be used yet", path)
    if htype[:3] not in _TYPES:
        raise InputError(
            f"histogram type {_short(htype)} is not supported; only constant-wavelength powder "
            "X-ray (PXC…) or neutron (PNC…) instrument files can be used", path)
    radiation = _TYPES[htype[:3]]

    banks = sorted({b for b, name in records if b is not None and name == "ICONS"})
    if not banks:
        raise InputError("GSAS instrument file has no 'INS  n ICONS' record (wavelengths)",
                         path)
    chosen = bank if bank is not None else (1 if 1 in banks else banks[0])
    if chosen not in banks:
        listed = ", ".join(str(b) for b in banks)
        raise InputError(f"bank {chosen} is not in the file (banks: {listed})", path)

    def field(text: str, a: int, b: int, name: str, lineno: int) -> float:
        chunk = text[a:b]
        return 0.0 if not chunk.strip() else _number(name, chunk, f"line {lineno} ICONS: ")

    lineno, icons = records[(chosen, "ICONS")]
    lam1 = field(icons, 0, 10, "lambda1", lineno)
    lam2 = field(icons, 10, 20, "lambda2", lineno)
    zero = field(icons, 20, 30, "zero", lineno) / 100.0  # centidegrees -> degrees
    pola = field(icons, 40, 50, "POLA", lineno)
    kratio = field(icons, 55, 65, "KRATIO", lineno)
    if lam1 == 0:
        raise InputError(f"line {lineno}: ICONS gives no wavelength (lambda1 is blank or 0)",
                         path)

    values: dict[str, float | str | None] = {
        "radiation": radiation, "lam1": lam1, "zero": zero, "polarization": pola}
    if lam2 == 0:  # single wavelength; GSAS ignores KRATIO then
        values["lam2"] = None
    else:
        values.update(lam2=lam2, ratio=kratio)
    if (chosen, "DETAZM") in records:
        ln, v = records[(chosen, "DETAZM")]
        values["azimuth"] = _number("DETAZM", v, f"line {ln}: ")
    values.update(_prm_profile(records, chosen, path))
    return _make(path, ("lambda1 (ICONS)", "lambda2 (ICONS)"), **values)


def _prm_profile(records: dict[tuple[int | None, str], tuple[int, str]], bank: int,
                 path: Path) -> dict[str, float]:
    """U, V, W, X, Y, Z, SH/L from the first profile function of ``bank``."""
    styles = {"PRCF1": "PRCF1{}", "PRCF": "PRCF {}"}  # current and older record names
    head = next((h for h in styles if (bank, h) in records), None)
    if head is None:
        raise InputError(f"GSAS instrument file has no 'INS{bank:3d}PRCF1' profile record",
                         path)
    coef = styles[head]
    lineno, spec = records[(bank, head)]
    parts = spec.split()
    try:
        ptype, ncoef = int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        raise InputError(f"line {lineno}: profile record {_short(spec)} does not start with "
                         "the profile type and number of coefficients", path) from None
    coeffs: list[float] = []
    j = 1
    while len(coeffs) < ncoef and (bank, coef.format(j)) in records:
        ln, text = records[(bank, coef.format(j))]
        for token in text.split():
            if token.upper() in _PRCF_LABELS:
                continue
            coeffs.append(_number(f"profile coefficient {len(coeffs) + 1}", token,
                                  f"line {ln}: "))
        j += 1
    layouts = {1: ("GU GV GW", 3), 2: ("GU GV GW LX LY", 5), 3: ("GU GV GW GP LX LY S/L H/L", 8),
               4: ("GU GV GW GP LX ptec trns shft sfec S/L H/L", 11),
               5: ("GU GV GW GP LX LY S/L H/L", 8)}
    if abs(ptype) not in layouts:
        raise InputError(f"line {lineno}: GSAS profile type {ptype} is not a constant-wavelength "
                         "type (1-5)", path)
    names, need = layouts[abs(ptype)]
    if len(coeffs) < need:
        raise InputError(f"profile type {ptype} needs {need} coefficients ({names}) but the "
                         f"file gives {len(coeffs)}", path)
    c = coeffs
    out = {"U": c[0], "V": c[1], "W": c[2], "X": 0.0, "Y": 0.0, "Z": 0.0,
           "sh_l": _GSAS2_DEFAULT_SHL}
    match abs(ptype):
        case 2:
            out.update(X=c[3], Y=c[4])
        case 3 | 5:
            out.update(X=c[4], Y=c[5], sh_l=c[6] + c[7])
        case 4:
            out.update(X=c[4], sh_l=c[9] + c[10])
    return out


# --------------------------------------------------------------------------- writing


def _r(x: float | None, name: str) -> str:
    """Shortest text that reads back to the same float (``repr``)."""
    v = float(x)  # type: ignore[arg-type]
    if not math.isfinite(v):
        raise InputError(f"cannot write {name} = {v}: not a finite number")
    return repr(v)


def format_instprm(instrument: Instrument) -> str:
    """GSAS-II ``.instprm`` text for ``instrument``.

    Parameters
    ----------
    instrument
        The instrument; its values are written in GSAS-II's units (module docstring).

    Returns
    -------
    str
        GSAS-II's header line, then ``Type``, ``Bank:1.0``, ``Lam1``, ``Lam2``,
        ``I(L2)/I(L1)`` (or ``Lam`` for a single wavelength), ``Zero``, ``Polariz.``,
        ``Azimuth``, ``U`` … ``Z``, ``SH/L``, one per line as GSAS-II's
        ``WriteInstprm`` writes them, each value ``repr`` of the float (lossless),
        and a last comment line ``#xtal: radius=… displacement=…`` that GSAS-II
        ignores.
    """
    ins = instrument
    lines = [_HEADER, f"Type:{_TYPE_OF[ins.radiation]}", "Bank:1.0"]
    if ins.lam2 is None:
        lines.append(f"Lam:{_r(ins.lam1, 'Lam')}")
    else:
        lines += [f"Lam1:{_r(ins.lam1, 'Lam1')}", f"Lam2:{_r(ins.lam2, 'Lam2')}",
                  f"I(L2)/I(L1):{_r(ins.ratio, 'I(L2)/I(L1)')}"]
    lines += [f"Zero:{_r(ins.zero, 'Zero')}", f"Polariz.:{_r(ins.polarization, 'Polariz.')}",
              f"Azimuth:{_r(ins.azimuth, 'Azimuth')}"]
    lines += [f"{k}:{_r(getattr(ins, k), k)}" for k in ("U", "V", "W", "X", "Y", "Z")]
    lines.append(f"SH/L:{_r(ins.sh_l, 'SH/L')}")
    xtal = (f"{_XTAL_TAG} radius={_r(ins.radius, 'radius')} "
            f"displacement={_r(ins.displacement, 'displacement')}")
    if ins.lam2 is None:
        xtal += f" ratio={_r(ins.ratio, 'ratio')}"
    lines.append(xtal)
    return "\n".join(lines) + "\n"


def write_instprm(instrument: Instrument, path: PathLike, force: bool = False) -> Path:
    """Write ``instrument`` as a GSAS-II ``.instprm`` file, atomically.

    Parameters
    ----------
    instrument
        The instrument (see :func:`format_instprm` for the layout).
    path
        Output file.
    force
        Overwrite an existing file; without it an existing file is an error.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        The file exists (and not ``force``), its directory is missing, or a value
        is not finite.
    """
    p = check_writable(path, force)
    try:
        text = format_instprm(instrument)
    except InputError as err:
        raise InputError(err.message, p) from err
    return atomic_write(p, text)
