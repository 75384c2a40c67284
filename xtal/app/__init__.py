"""Application level: workflows that combine files (io), analysis and refinement.

Lower layers never import from here (see tests/test_architecture.py).
"""
