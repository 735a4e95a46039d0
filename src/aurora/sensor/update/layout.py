"""Where installed versions live and the small JSON files the sensor and its launcher share.

``<state_dir>/releases/`` holds ``versions/<version>/`` (side by side), the ``current`` symlink the
launcher runs from (absent: the base install), ``incoming/`` downloads, and the hand-over files:
``staged.json`` (sensor -> launcher: switch to this), ``pending.json`` (launcher: on trial until a
deadline), ``confirmed.json`` (new sensor: connected, and the guard's first full check passed in
every hook family the previous version had healthy) and ``outcome.json`` (launcher:
installed or rolled back, for the sensor to report). Each is written whole (atomicfile).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson

from aurora.atomicfile import write_atomic

BASE = "base"  # the version installed with the launcher itself: no `current` link


@dataclass(frozen=True)
class Staged:
    command_id: str
    version: str
    from_version: str
    confirm_within_s: float
    # The hook families healthy in the version that staged it: the new one must match them.
    expect_families: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Pending:
    command_id: str
    version: str
    from_version: str
    previous: str  # the `current` target before the switch, or BASE
    deadline_unix: float
    confirm_within_s: float
    expect_families: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Confirmed:
    command_id: str
    version: str


@dataclass(frozen=True)
class Outcome:
    command_id: str
    status: str  # "installed" | "rolled_back"
    version: str  # the version running after the outcome
    target: str  # the version the update tried to install
    reason: str = ""
    took_s: float = 0.0


T = TypeVar("T", Staged, Pending, Confirmed, Outcome)


class Releases:
    """The releases directory of one sensor state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "releases"
        self.versions = self.root / "versions"
        self.incoming = self.root / "incoming"
        self.current = self.root / "current"

    def ensure(self) -> None:
        for d in (self.root, self.versions, self.incoming):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)

    def version_dir(self, version: str) -> Path:
        return self.versions / version

    # ---------------------------------------------------------------- current
    def current_version(self) -> str:
        """The version `current` points at, or BASE."""
        try:
            return Path(os.readlink(self.current)).name
        except OSError:
            return BASE

    def switch(self, version: str) -> None:
        """Point `current` at ``version`` (BASE removes it) in one rename, never a missing link."""
        if version == BASE:
            with contextlib.suppress(FileNotFoundError):
                self.current.unlink()
            return
        tmp = self.root / ".current.new"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(Path("versions") / version, tmp)
        os.replace(tmp, self.current)
        _fsync_dir(self.root)

    def prune(self, keep: set[str]) -> None:
        """Remove installed versions other than ``keep`` (the running one and its predecessor)."""
        if not self.versions.is_dir():
            return
        for child in self.versions.iterdir():
            if child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)

    # ------------------------------------------------------------ hand-overs
    def write(self, record: Staged | Pending | Confirmed | Outcome) -> None:
        self.ensure()
        write_atomic(self._path(type(record)), orjson.dumps(asdict(record)))

    def read(self, kind: type[T]) -> T | None:
        try:
            data: dict[str, Any] = orjson.loads(self._path(kind).read_bytes())
            return kind(**data)
        except (OSError, orjson.JSONDecodeError, TypeError):
            return None

    def clear(self, kind: type[Staged | Pending | Confirmed | Outcome]) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(kind).unlink()

    def _path(self, kind: type[Any]) -> Path:
        return self.root / f"{kind.__name__.lower()}.json"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
