"""File formats: patterns, CIF, instrument files, reports, plots."""
