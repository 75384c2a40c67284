"""Making names unique (phases share one namespace in patterns, tables and parameter paths)."""

from __future__ import annotations


def unique_names(names: list[str], template: str = "{name}-{k}") -> list[str]:
    """``names`` with repeats renamed by ``template`` (k = 2, 3, …), order kept."""
    out: list[str] = []
    for name in names:
        k, cand = 2, name
        while cand in out:
            cand, k = template.format(name=name, k=k), k + 1
        out.append(cand)
    return out
