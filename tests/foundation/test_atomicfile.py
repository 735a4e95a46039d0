"""aurora.atomicfile on a real full disk: the old file or the new one, never part of one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from aurora.atomicfile import write_atomic
from fulldisk import fill, make_room


def test_writes_the_whole_file_with_its_mode_from_the_start(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    old = os.umask(0o022)
    try:
        write_atomic(target, b"x" * 1_000_000, mode=0o640)
    finally:
        os.umask(old)
    assert target.read_bytes() == b"x" * 1_000_000
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_full_disk_keeps_the_old_file_and_leaves_no_temporary_file(small_disk: Path) -> None:
    target = small_disk / "state.json"
    write_atomic(target, b'{"old": true}')
    fill(small_disk)
    with pytest.raises(OSError) as failed:
        write_atomic(target, b"n" * 200_000)
    assert failed.value.errno == 28  # ENOSPC
    assert target.read_bytes() == b'{"old": true}'
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "state.json"]
    make_room(small_disk)
    write_atomic(target, b"n" * 200_000)
    assert target.read_bytes() == b"n" * 200_000
