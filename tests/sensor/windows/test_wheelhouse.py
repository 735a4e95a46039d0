"""The Windows wheelhouse: `scripts/windows-wheelhouse` assembles, from the package registry,
a win_amd64 or pure wheel for CPython 3.11 of every library the Windows sensor imports (found
by walking the sensor's imports, including those inside functions), and of their dependencies."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SRC = REPO / "src"
REQUIREMENTS = REPO / "scripts" / "windows-sensor-requirements.txt"
# What runs on a Windows host: the Windows sensor, the agent and CLI that start it, the platform
# seam and the response actions it serves.
ROOTS = ("aurora.sensor.agent", "aurora.sensor.platform.windows", "aurora.cli.cmd_sensor")
# Imported by name (importlib) because they exist only on Windows: pywin32's modules.
BY_NAME = {"servicemanager": "pywin32", "win32service": "pywin32", "win32serviceutil": "pywin32"}


def _file(module: str) -> Path | None:
    base = SRC.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(module: str, path: Path) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            out |= {base, *(f"{base}.{a.name}" for a in node.names)}
    return out


def third_party_imports() -> set[str]:
    """Top-level names of the non-stdlib modules the Windows sensor can import."""
    todo = list(ROOTS) + [
        ".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        for p in (SRC / "aurora" / "sensor" / "windows").rglob("*.py")
    ]
    seen: set[str] = set()
    found: set[str] = set()
    while todo:
        module = todo.pop()
        path = _file(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        for name in _imports(module, path):
            top = name.split(".")[0]
            if top == "aurora":
                todo.append(name)
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                found.add(top)
    return found


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def required() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_norm(name)] = version.strip()
    return pins


def test_every_import_of_the_windows_sensor_is_a_listed_requirement() -> None:
    imports = third_party_imports()
    assert {"grpc", "orjson", "pefile", "psutil", "evtx"} <= imports, imports
    dists = packages_distributions()
    needed = {_norm(dists[m][0]) for m in imports}
    service = (SRC / "aurora" / "sensor" / "windows" / "service.py").read_text()
    for module, dist in BY_NAME.items():
        assert f'"{module}"' in service
        needed.add(dist)
    missing = needed - set(required())
    assert not missing, f"imported by the Windows sensor but not in {REQUIREMENTS.name}: {missing}"


def _compatible(wheel: str) -> bool:
    """A wheel CPython 3.11 on win_amd64 installs: pure, or built for win_amd64 and 3.11."""
    python, abi, plat = wheel.removesuffix(".whl").split("-")[-3:]
    if plat == "any":
        return abi == "none" and any(p in ("py3", "cp311") for p in python.split("."))
    if plat != "win_amd64":
        return False
    if abi == "abi3":
        return all(int(p[3:]) <= 11 for p in python.split(".") if p.startswith("cp3"))
    return python == "cp311" and abi == "cp311"


@pytest.mark.slow
def test_wheelhouse_holds_a_windows_wheel_of_everything(tmp_path: Path) -> None:
    out = tmp_path / "wheelhouse"
    run = subprocess.run(
        [str(REPO / "scripts" / "windows-wheelhouse"), str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "HOME": str(tmp_path)},
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    wheels = sorted(p.name for p in out.glob("*.whl"))
    assert [w for w in wheels if not _compatible(w)] == []
    present = {_norm(w.split("-")[0]): w.split("-")[1] for w in wheels}
    for name, version in required().items():
        assert present.get(name) == version, f"{name}=={version} missing: {wheels}"
    assert "pywin32" in present and present["aurora-edr"]
    # Dependencies came along: pydantic's compiled core, cryptography's cffi.
    assert {"pydantic-core", "cffi", "construct"} <= set(present)


def test_wheel_tags_are_judged_right() -> None:
    assert _compatible("grpcio-1.85.1-cp311-cp311-win_amd64.whl")
    assert _compatible("psutil-7.2.2-cp37-abi3-win_amd64.whl")
    assert _compatible("pefile-2024.8.26-py3-none-any.whl")
    assert not _compatible("grpcio-1.85.1-cp311-cp311-manylinux_2_17_x86_64.whl")
    assert not _compatible("orjson-3.13.0-cp312-cp312-win_amd64.whl")
    assert not _compatible("foo-1.0-cp312-abi3-win_amd64.whl")
