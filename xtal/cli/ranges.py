"""One form of ``--range`` for every command: ``--range LO HI`` (degrees 2θ), with an
optional ``STEP`` where a command makes its own grid (``simulate``, ``compare``).

typer cannot declare an option that takes two or three values, so
:class:`MultiValueCommand` rewrites ``--range 10 80 0.01`` to ``--range 10 --range 80
--range 0.01`` before parsing (likewise ``--exclude LO HI``), and the option is a plain
``list[float]`` that :func:`two_theta_range` checks.  ``--range 10,80`` (one token with
commas) is accepted as well.
"""

from __future__ import annotations

from typer.core import TyperCommand

from xtal.errors import InputError

RANGE_METAVAR = "LO HI"
RANGE_STEP_METAVAR = "LO HI [STEP]"


class MultiValueCommand(TyperCommand):
    """A command whose ``--range`` takes up to three numbers and ``--exclude`` two."""

    counts = {"--range": 3, "--exclude": 2}

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(args):
            tok = args[i]
            if tok == "--":  # everything after is positional
                out += args[i:]
                break
            name, eq, inline = tok.partition("=")
            if name not in self.counts:
                out.append(tok)
                i += 1
                continue
            values = [inline] if eq else []
            i += 1
            while len(values) < self.counts[name] and i < len(args) and _numbers(args[i]):
                values.append(args[i])
                i += 1
            split = [v for text in values for v in text.split(",") if v.strip()]
            out += [part for v in split for part in (name, v)] if split else [tok]
        return super().parse_args(ctx, out)


def _numbers(text: str) -> bool:
    """True for ``'10'``, ``'1e-2'`` or ``'10,80'`` (a value of --range, not the next word)."""
    parts = [p for p in text.split(",") if p.strip()]
    try:
        return bool(parts) and all(float(p) == float(p) for p in parts)
    except ValueError:
        return False


def two_theta_range(values: list[float] | None, option: str = "--range",
                    step: bool = False) -> tuple[float, ...] | None:
    """``(LO, HI)`` or, where ``step`` is allowed, ``(LO, HI)``/``(LO, HI, STEP)``; None if unset.

    Raises
    ------
    InputError
        A wrong count of numbers, LO ≥ HI, or a STEP that is not positive.
    """
    if not values:
        return None
    v = tuple(float(x) for x in values)
    form = RANGE_STEP_METAVAR if step else RANGE_METAVAR
    if len(v) not in ((2, 3) if step else (2,)):
        extra = "" if step else " (this command uses the data's own step)"
        raise InputError(f"{option} takes {form}{extra}, not {len(v)} number"
                         f"{'s' if len(v) != 1 else ''}: e.g. {option} 10 80")
    if not v[0] < v[1]:
        raise InputError(f"{option} {v[0]:g} {v[1]:g}: LO must be below HI")
    if len(v) == 3 and not v[2] > 0:
        raise InputError(f"{option}: STEP must be positive, not {v[2]:g}")
    return v
