"""Registering a user's CIF: read it (``io``), check it (``analysis``), store it (``io``).

The checks live here, above both layers, so that :mod:`xtal.io.library` needs no
structure analysis: a name in :data:`VALIDATORS` must pass its check before the CIF
is copied into the registry.
"""

from __future__ import annotations

import os

from xtal.analysis.validation import validate_na3bs3_monoclinic
from xtal.io import library
from xtal.io.library import MONOCLINIC, StructureInfo, Validator

#: lower-cased structure name → the check its CIF must pass
VALIDATORS: dict[str, Validator] = {
    MONOCLINIC.lower(): validate_na3bs3_monoclinic,
}


def register_structure(
    path: str | os.PathLike[str], name: str, force: bool = False
) -> StructureInfo:
    """Validate a CIF and copy it into the user's structure registry.

    ``Na3BS3-monoclinic`` must pass
    :func:`~xtal.analysis.validation.validate_na3bs3_monoclinic`; other names need a
    readable CIF (:func:`xtal.io.library.register_structure` does the rest).

    Raises
    ------
    InputError
        Unreadable CIF, failed validation, a shipped name, or an existing
        registration without ``force``.
    """
    return library.register_structure(
        path, name, force=force, validate=VALIDATORS.get(name.strip().lower())
    )
