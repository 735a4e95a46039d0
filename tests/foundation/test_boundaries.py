"""The package boundaries ARCHITECTURE.md promises, checked on the source (AST)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "aurora"

# package -> packages it must never import
FORBIDDEN = {
    "sensor": ("aurora.collector", "aurora.api", "aurora.detection", "aurora.hunt"),
    "ocsf": ("aurora.collector", "aurora.api", "aurora.sensor"),
    "wire": ("aurora.collector", "aurora.api", "aurora.sensor"),
    "detection": ("aurora.collector", "aurora.api", "aurora.sensor"),
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
