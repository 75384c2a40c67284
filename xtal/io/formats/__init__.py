"""Readers of measured powder patterns, one module per format family.

Each reader has the signature ``read(data: bytes, path: Path) -> list[Pattern]``
and raises :class:`~xtal.io.formats._common.FormatError` (a message without the
file name or format) for anything it cannot read; :func:`xtal.io.patterns.read_pattern`
turns that into a one-line :class:`~xtal.errors.InputError` naming the file and the
format.  Nothing here is imported until a file of that format is read (see the
registry in :mod:`xtal.io.patterns`).
"""
