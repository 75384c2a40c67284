"""Numbers with standard uncertainties written the crystallographic way, ``3.9012(4)``.

Convention (IUCr, Notes for Authors / Schwarzenbach et al., Acta Cryst. A45, 63,
1989, "the 19 rule"): the esd is given to two significant digits when its leading
two digits are 10–19 and to one digit otherwise; the value is rounded to the same
last decimal place, and the esd in parentheses is in units of that last digit
(CIF 1.1 §2.2.7.4.6).
"""

from __future__ import annotations

import math


def format_plain(value: float, decimals: int = 6) -> str:
    """``value`` with at most ``decimals`` decimals, trailing zeros dropped (``0.2467``)."""
    text = f"{value:.{decimals}f}".rstrip("0")
    if text.endswith("."):
        text += "0"
    return "0.0" if text in ("-0.0", "-0") else text


def format_esd(value: float, esd: float | None, decimals: int = 6) -> str:
    """Write ``value`` with its esd in parentheses following the IUCr 19 rule.

    Parameters
    ----------
    value
        The number.
    esd
        Its standard uncertainty; None, zero or non-finite gives the plain value
        (``decimals`` decimals at most).
    decimals
        Decimals of the plain form.

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
    """
    if esd is None or not math.isfinite(esd) or esd <= 0:
        return format_plain(value, decimals)
    e = math.floor(math.log10(esd))
    lead = _half_up(esd / 10.0 ** (e - 1))  # two significant digits, 10..100
    if lead >= 100:
        lead, e = 10, e + 1
    if lead > 19:
        lead = _half_up(esd / 10.0**e)  # one significant digit
        if lead >= 10:
            lead, e = 1, e + 1
        last = e  # power of ten of the last digit written
    else:
        last = e - 1
    if last < 0:
        return f"{value:.{-last}f}({lead})"
    step = 10**last
    return f"{_half_up(value / step) * step}({lead * step})"


def _half_up(x: float) -> int:
    # round half away from zero (Python's round() goes to even: 2.5 -> 2)
    return int(math.copysign(math.floor(abs(x) + 0.5 + 1e-9), x))
