"""The package-level import graph of xtal follows the declared layers (issue 10).

Layers, lowest first; a module may import from its own package and from packages of
lower layers, never from a higher one — not even inside a function body:

    errors < util < crystal < diffraction < analysis < refine < io < app
    < cli, demo (the programs) < __main__

The graph is read from the source with :mod:`ast`, so it sees every import a test
run might not execute: top-level and function-level ``import``/``from ... import``,
relative imports, ``importlib.import_module("xtal....")`` / ``__import__`` with a
literal name, and lazy-import tables (a string constant that is exactly the dotted
name of an xtal module, optionally ``module:attribute``).  Imports under
``if TYPE_CHECKING:`` are type annotations only and do not count.  The root package
``xtal`` is a lazy facade: importing it loads nothing, so it is no edge either way.

A strict layer order has no cycles, so the test also proves that sub-packages import
each other in one direction only.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import xtal

ROOT = Path(xtal.__file__).resolve().parent

#: Layers, lowest first.  A package may import from itself and from packages of lower
#: layers; two packages of one layer are independent of each other.  ``structures`` is
#: the data package of the shipped CIFs (no code).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("util", "structures"),
    ("crystal",),
    ("diffraction",),
    ("analysis",),
    ("refine",),
    ("io",),
    ("app",),
    ("cli", "demo"),
    ("__main__",),
)

#: Known edges against the layering: (importing module, imported package) → why it is
#: still there.  Delete an entry when its edge is gone (the test then keeps it gone).
ALLOWED: dict[tuple[str, str], str] = {}

_MODULE_STRING = re.compile(r"^xtal(\.[A-Za-z_]\w*)+(:[A-Za-z_]\w*)?$")


@dataclass(frozen=True)
class Edge:
    """One import of an xtal module by another."""

    module: str  # dotted name of the importing module
    line: int
    target: str  # dotted name of the imported module

    @property
    def source_package(self) -> str | None:
        return package_of(self.module)

    @property
    def target_package(self) -> str | None:
        return package_of(self.target)


def package_of(module: str) -> str | None:
    """``'xtal.io.cif'`` → ``'io'``; ``'xtal.demo'`` → ``'demo'``; the root → None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_of(package: str) -> int:
    for i, names in enumerate(LAYERS):
        if package in names:
            return i
    raise AssertionError(f"package xtal.{package} is in no layer: add it to LAYERS")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(dotted: str) -> bool:
    """True if ``dotted`` names a module or package in the source tree."""
    parts = dotted.split(".")
    if parts[0] != "xtal":
        return False
    base = ROOT.parent.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Every xtal module a source file imports, with line numbers (see module docstring)."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.edges: list[Edge] = []
        self._docstrings: set[int] = set()

    def add(self, target: str, node: ast.AST) -> None:
        if target.split(".")[0] == "xtal":
            self.edges.append(Edge(self.module, getattr(node, "lineno", 0), target))

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:  # the else branch runs
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            mod = ".".join(base + ([node.module] if node.module else []))
        else:
            mod = node.module or ""
        for alias in node.names:
            sub = f"{mod}.{alias.name}"
            self.add(sub if is_module(sub) else mod, node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("import_module", "__import__") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                self.add(arg.value, node)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        # lazy-import tables: "xtal.io.formats.rigaku:read", "xtal.io.library"
        if isinstance(node.value, str) and _MODULE_STRING.match(node.value):
            dotted = node.value.split(":")[0]
            if is_module(dotted):
                self.add(dotted, node)


def import_edges() -> list[Edge]:
    """Every import between xtal modules in the source tree."""
    edges: list[Edge] = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        visitor = _Imports(module_name(path), path.name == "__init__.py")
        visitor.visit(tree)
        edges += visitor.edges
    return edges


def package_graph(edges: list[Edge]) -> dict[str, set[str]]:
    """Package → packages it imports (own package and the root facade left out)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        src, dst = e.source_package, e.target_package
        if src is None or dst is None or src == dst:
            continue
        graph.setdefault(src, set()).add(dst)
    return graph


def violations(edges: list[Edge]) -> list[Edge]:
    """Edges from a package to one of the same or a higher layer (not its own package)."""
    out = []
    for e in edges:
        src, dst = e.source_package, e.target_package
        if src is None or dst is None or src == dst:
            continue
        if layer_of(dst) >= layer_of(src):
            out.append(e)
    return out


def _describe(e: Edge) -> str:
    path = e.module.replace(".", "/")
    return (f"{path}.py:{e.line}: {e.module} (layer {layer_of(e.source_package)}, "
            f"{e.source_package}) imports {e.target} (layer {layer_of(e.target_package)}, "
            f"{e.target_package})")


# -- tests ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def edges() -> list[Edge]:
    return import_edges()


def test_the_scanner_sees_every_kind_of_import() -> None:
    """The AST scan finds function-level, relative, importlib and lazy-table imports,
    and skips TYPE_CHECKING blocks (a scanner that found nothing would pass any graph)."""
    src = '''
from typing import TYPE_CHECKING
import importlib
import xtal.crystal.phase
from . import spacegroup
from ..io import cif
if TYPE_CHECKING:
    from xtal.cli import app
def f():
    from xtal.refine.result import Result
    importlib.import_module("xtal.analysis.rings")
TABLE = {"read": "xtal.io.patterns:read_pattern", "prose": "see xtal.io.cif for details"}
'''
    visitor = _Imports("xtal.crystal.example", is_package=False)
    visitor.visit(ast.parse(src))
    found = {(e.target, e.line) for e in visitor.edges}
    assert found == {
        ("xtal.crystal.phase", 4),
        ("xtal.crystal.spacegroup", 5),
        ("xtal.io.cif", 6),
        ("xtal.refine.result", 10),
        ("xtal.analysis.rings", 11),
        ("xtal.io.patterns", 12),
    }
    bad = violations(visitor.edges)
    assert {e.target_package for e in bad} == {"io", "refine", "analysis"}


def test_every_package_has_a_layer(edges: list[Edge]) -> None:
    packages = {module_name(p).split(".")[1] for p in ROOT.rglob("*.py")
                if module_name(p) != "xtal"}
    for pkg in sorted(packages):
        layer_of(pkg)  # raises with the package's name


def test_imports_follow_the_layers(edges: list[Edge]) -> None:
    bad = sorted({e for e in violations(edges) if (e.module, e.target_package) not in ALLOWED},
                 key=lambda e: (e.module, e.line))
    assert not bad, "imports against the layer order:\n" + "\n".join(map(_describe, bad))


def test_allow_list_is_current(edges: list[Edge]) -> None:
    """An allowed exception whose edge has gone must be deleted, so that it stays gone."""
    present = {(e.module, e.target_package) for e in violations(edges)}
    stale = [f"{m} -> {p} ({why})" for (m, p), why in ALLOWED.items() if (m, p) not in present]
    assert not stale, "delete from ALLOWED (the edge is gone): " + "; ".join(stale)


def test_package_graph_is_acyclic(edges: list[Edge]) -> None:
    """Print the package graph (``pytest -s``) and check it has no cycle, allowed edges
    included; a cycle names its packages."""
    graph = package_graph(edges)
    print("\npackage import graph (layer: package -> imported packages):")
    for i, names in enumerate(LAYERS):
        for pkg in names:
            print(f"  {i}: {pkg:12s} -> {', '.join(sorted(graph.get(pkg, ()))) or '-'}")
    allowed = {(package_of(m), p) for m, p in ALLOWED}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if (node, nxt) in allowed:
                continue  # a listed exception; the layer test keeps the rest in order
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
                raise AssertionError("import cycle between packages: " + " -> ".join(cycle))
            if state.get(nxt) is None:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for pkg in sorted(graph):
        if pkg not in state:
            visit(pkg, [pkg])


def test_root_facade_targets_exist() -> None:
    """Every name of ``xtal``'s lazy table points at a module that exists."""
    import importlib

    for name, module in xtal._LAZY.items():
        assert is_module(module), f"xtal.{name} -> {module}: no such module"
        mod = importlib.import_module(module)
        assert name in ("refine", "export_cif") or hasattr(mod, name), f"{module}.{name}"
