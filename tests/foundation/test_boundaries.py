"""The package boundaries ARCHITECTURE.md promises, and no import cycles, checked on the source
(AST)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "aurora"
# Packages whose modules must not import each other in a circle.
ACYCLIC = ("sensor", "ocsf", "hunt", "plugins", "wire", "collector", "detection", "api")

DEPLOYABLES = ("aurora.collector", "aurora.api", "aurora.sensor", "aurora.hunt", "aurora.cli")
# package -> packages it must never import. Layers, bottom up: errors/config, wire/ocsf,
# detection, then the deployables (sensor and collector never import each other), api over the
# collector, cli over everything; nothing imports the cli.
FORBIDDEN = {
    "config": (*DEPLOYABLES, "aurora.detection"),
    "wire": (*DEPLOYABLES, "aurora.detection"),
    "ocsf": (*DEPLOYABLES, "aurora.detection"),
    "detection": DEPLOYABLES,
    "sensor": ("aurora.collector", "aurora.api", "aurora.detection", "aurora.hunt", "aurora.cli"),
    "plugins": ("aurora.collector", "aurora.api", "aurora.detection", "aurora.hunt", "aurora.cli"),
    "collector": ("aurora.api", "aurora.sensor", "aurora.hunt", "aurora.cli"),
    "hunt": ("aurora.collector", "aurora.api", "aurora.cli"),
    "api": ("aurora.sensor", "aurora.hunt", "aurora.cli"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden(package: str) -> None:
    offenders = []
    for path in sorted((SRC / package).rglob("*.py")):
        for name in imported_modules(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[package]):
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert not offenders, offenders


def test_generated_code_is_not_committed() -> None:
    gitignore = (SRC.parents[1] / ".gitignore").read_text()
    assert "/src/aurora/v1/" in gitignore


def module_name(path: Path) -> str:
    parts = ["aurora", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports run when the module loads (TYPE_CHECKING blocks included), not those in functions."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    yield from _module_level_imports(inner)


def import_graph(packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the modules of ``packages`` it imports at load time.

    ``from pkg import name`` points at ``pkg.name`` when that is a module, else at ``pkg``. A
    submodule's implicit import of its parent package is not an edge: re-exporting ``__init__``
    files would otherwise make every package a cycle.
    """
    paths = [p for pkg in packages for p in sorted((SRC / pkg).rglob("*.py"))]
    known = {module_name(p) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges = graph.setdefault(name, set())
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in _module_level_imports(tree.body):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                    for alias in node.names
                ]
            edges.update(t for t in targets if t in known and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_cycle_finder_reports_the_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph(ACYCLIC))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
