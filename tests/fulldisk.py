"""Filling and emptying the real tiny tmpfs of the ``small_disk`` fixture (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path


def fill(disk: Path) -> None:
    """Write a file until the filesystem refuses another byte."""
    with (disk / "filler").open("ab", buffering=0) as fh:
        for size in (65536, 4096, 1):
            while True:
                try:
                    fh.write(b"\0" * size)
                except OSError:
                    break


def make_room(disk: Path) -> None:
    (disk / "filler").unlink()
