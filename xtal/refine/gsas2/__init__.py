"""GSAS-II as a second refinement engine, driven through its scripting API.

``GsasEngine`` implements xtal's engine seam with ``GSASII.GSASIIscriptable``: the same
pattern, phases, instrument and recipe become a GSAS-II project, refined stage by
stage, and read back in xtal's parameter paths and units
(:mod:`xtal.refine.gsas2.names`).  This package is the only place that imports GSAS-II,
and it does so in a worker process (:mod:`xtal.refine.gsas2.worker`).  Install GSAS-II
with ``make gsas2``; without it, :func:`require_gsas2` says how, in one line.
"""

from xtal.refine.gsas2.client import INSTALL_HINT, gsas2_available, require_gsas2
from xtal.refine.gsas2.engine import GsasEngine

__all__ = ["GsasEngine", "INSTALL_HINT", "gsas2_available", "require_gsas2"]
