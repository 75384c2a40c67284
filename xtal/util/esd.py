"""Numbers with standard uncertainties written the crystallographic way, ``3.9012(4)``.

Convention (IUCr, Notes for Authors / Schwarzenbach et al., Acta Cryst. A45, 63,
1989, "the 19 rule"): the esd is given to two significant digits when its leading
two digits are 10–19 and to one digit otherwise; the value is rounded to the same
last decimal place, and the esd in parentheses is in units of that last digit
(CIF 1.1 §2.2.7.4.6).

What is written never loses the value: a non-zero value keeps at least two
significant digits.  Where rounding to the esd would leave fewer (an esd as
large as the value or larger), the value is written to two significant digits
and the esd, still rounded by the 19 rule, is given in units of that last digit:
B = 1.4728 ± 24 is ``1.5(200)``, not ``0(20)``.  A CIF reader then gets 1.5 with
an esd of 20.
"""

from __future__ import annotations

import math

MIN_SIGNIFICANT = 2  # digits of a non-zero value that are always written
ZERO = 1e-14  # below this |value| is double-precision round-off of 0, written as 0


def format_plain(value: float, decimals: int = 6) -> str:
    """``value`` with at most ``decimals`` decimals, trailing zeros dropped (``0.2467``).

    A non-zero value (|value| ≥ 1e-14) keeps at least two significant digits,
    with more decimals if needed: ``format_plain(3.2e-8)`` is ``'0.000000032'``.
    """
    if math.isfinite(value) and abs(value) >= ZERO:
        decimals = max(decimals, MIN_SIGNIFICANT - 1 - _exponent(value))
    text = f"{value:.{decimals}f}".rstrip("0")
    if text.endswith("."):
        text += "0"
    return "0.0" if text in ("-0.0", "-0") else text


def format_esd(value: float, esd: float | None, decimals: int = 6) -> str:
    """Write ``value`` with its esd in parentheses, following the IUCr 19 rule.

    Rules, in order:

    1. esd None, zero, negative or not finite (not refined, or undefined): the
       value alone, :func:`format_plain` (at most ``decimals`` decimals, at least
       two significant digits).
    2. Otherwise the esd is rounded by the 19 rule and the value to the esd's
       last digit, unless that leaves fewer than two significant digits of a
       non-zero value: then the value keeps two significant digits and the esd
       is written in units of that finer last digit.  |value| < 1e-14 counts as 0.

    The number read back from the text (e.g. by gemmi, ASE or pymatgen) is
    within half a unit of its last digit of ``value``, and never 0 unless
    ``value`` is (numerically) 0.

    Examples
    --------
    >>> format_esd(3.9012, 0.0004)
    '3.9012(4)'
    >>> format_esd(1.2345, 0.0015)
    '1.2345(15)'
    >>> format_esd(1.23456, 0.0023)
    '1.235(2)'
    >>> format_esd(1234.5, 25.0)
    '1230(30)'
    >>> format_esd(1.4728, 24.0)
    '1.5(200)'
    >>> format_esd(2.47, 16.0)
    '2.5(160)'
    """
    if esd is None or not math.isfinite(esd) or esd <= 0 or not math.isfinite(value):
        return format_plain(value, decimals)
    lead, last = _round_esd(esd)  # esd ≈ lead · 10^last
    if abs(value) < ZERO:
        value = 0.0
    else:
        finest = _exponent(value) - MIN_SIGNIFICANT + 1  # last digit of two significant ones
        if last > finest:  # rounding to the esd would lose the value: write more digits
            lead, last = lead * 10 ** (last - finest), finest
    if last < 0:
        return f"{value:.{-last}f}({lead})"
    step = 10**last
    return f"{_half_up(value / step) * step}({lead * step})"


def _round_esd(esd: float) -> tuple[int, int]:
    """The esd as ``(lead, last)``, esd ≈ lead · 10^last, lead 10–19 or 1–9 (19 rule)."""
    e = math.floor(math.log10(esd))
    lead = _half_up(esd / 10.0 ** (e - 1))  # two significant digits, 10..100
    if lead >= 100:
        lead, e = 10, e + 1
    if lead <= 19:
        return lead, e - 1
    lead = _half_up(esd / 10.0**e)  # one significant digit
    return (1, e + 1) if lead >= 10 else (lead, e)


def _exponent(value: float) -> int:
    """Power of ten of the leading digit of ``value`` (≠ 0)."""
    return math.floor(math.log10(abs(value)))


def _half_up(x: float) -> int:
    # round half away from zero (Python's round() goes to even: 2.5 -> 2)
    return int(math.copysign(math.floor(abs(x) + 0.5 + 1e-9), x))
