"""Application modules: where files, analysis and refinement meet.

Each module here may use every layer below it (``io``, ``refine``, ``analysis``,
``diffraction``, ``crystal``) and is used by ``xtal.cli``, ``xtal.demo`` and the
public API (``xtal.refine``, ``xtal.load_phase``, ``xtal.compare`` ...).  Lower layers
never import from here (tests/test_architecture.py).
"""
