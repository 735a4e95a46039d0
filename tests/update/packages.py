"""Real release packages for the update tests: the project's own wheel, built from this checkout
with a bumped version (and, for the crash case, a sensor that fails at start), plus the BPF
objects, signed with a key made for the test; and the damaged variants the sensor must refuse."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from packaging.version import Version

from aurora import __version__
from aurora.wire.release import build, sign
from aurora.wire.release.keys import generate

REPO = Path(__file__).resolve().parents[2]
OBJECTS = REPO / "src" / "aurora" / "sensor" / "linux" / "objects"
CRASH = "\nraise RuntimeError('release built broken on purpose: the sensor dies at start')\n"
HANG = "\nimport time as _t\n\n_t.sleep(3600)  # release built broken on purpose: never comes up\n"


def later(steps: int) -> str:
    """A version ``steps`` patch releases after the running one."""
    major, minor, patch = [*Version(__version__).release, 0, 0][:3]
    return f"{major}.{minor}.{patch + steps}"


def build_wheel(
    version: str, work: Path, *, break_agent: str = "", drop_objects: tuple[str, ...] = ()
) -> Path:
    """``pip wheel`` of a copy of src/ whose ``__version__`` is ``version`` (and whose sensor
    agent module ends with ``break_agent``, or that lacks the BPF objects ``drop_objects``, to
    make a broken release)."""
    tree = work / f"tree-{version}"
    shutil.rmtree(tree, ignore_errors=True)
    (tree / "src").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, tree / name)
    shutil.copytree(
        REPO / "src" / "aurora",
        tree / "src" / "aurora",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", *drop_objects),
    )
    init = tree / "src" / "aurora" / "__init__.py"
    init.write_text(init.read_text().replace(f'"{__version__}"', f'"{version}"'))
    if break_agent:
        with (tree / "src" / "aurora" / "sensor" / "agent.py").open("a") as f:
            f.write(break_agent)
    out = work / "wheels"
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*pip, "-w", str(out), str(tree)],
        check=True,
        capture_output=True,
    )
    return next(out.glob(f"aurora_edr-{version}-*.whl"))


def signed_package(
    wheel: Path,
    key: Path,
    out: Path,
    *,
    rollback: bool = False,
    rotation: Path | None = None,
    drop_objects: tuple[str, ...] = (),
) -> Path:
    objects = [p for p in sorted(OBJECTS.glob("*.bpf.o")) if p.name not in drop_objects]
    build(out, wheel, objects, rollback=rollback)
    sign(out, key, rotation)
    return out


def new_key(path: Path) -> Path:
    generate(path)
    return path


def flip_byte(package: Path, member: str, out: Path, at: int = 100) -> Path:
    """A copy of ``package`` with one byte of ``member``'s data changed (tar structure intact)."""
    shutil.copy(package, out)
    with tarfile.open(out) as tar:
        where = tar.getmember(member).offset_data + at
    with out.open("r+b") as f:
        f.seek(where)
        byte = f.read(1)
        f.seek(where)
        f.write(bytes([byte[0] ^ 0xFF]))
    return out


def truncate(package: Path, out: Path, fraction: float = 0.6) -> Path:
    data = package.read_bytes()
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


def wheel_member(package: Path) -> str:
    with tarfile.open(package) as tar:
        return next(n for n in tar.getnames() if n.endswith(".whl"))
