"""Quarantine and restore with real files: content, owner, mode and times round-trip."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

import aurora
from aurora.config.response import ResponseConfig
from aurora.sensor.response import ResponseExecutor

from .conftest import need_root

pytestmark = [pytest.mark.root]

PAYLOAD = b"#!/bin/sh\necho pwned\n" + bytes(range(256)) * 64


@pytest.fixture
def executor(tmp_path: Path) -> ResponseExecutor:
    need_root()
    return ResponseExecutor(tmp_path / "state", ResponseConfig(), None)


def make_file(path: Path, mode: int = 0o4755, owner: tuple[int, int] = (1234, 5678)) -> Path:
    path.write_bytes(PAYLOAD)
    os.chown(path, *owner)
    os.chmod(path, mode)  # after chown, which would clear the set-uid bit
    os.utime(path, ns=(1_600_000_000_123_456_789, 1_500_000_000_987_654_321))
    return path


def round_trip(executor: ResponseExecutor, target: Path) -> None:
    before = target.stat()
    res = executor.execute("quarantine", {"path": str(target)})
    assert res.ok, res.message
    rec = res.data
    assert not target.exists()
    assert rec["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert (rec["uid"], rec["gid"], rec["mode"]) == (1234, 5678, 0o4755)
    assert rec["original_path"] == str(target)
    vault = executor.vault.root
    assert stat.S_IMODE(vault.stat().st_mode) == 0o700
    blob = vault / f"{rec['id']}.bin"
    assert blob.read_bytes() == PAYLOAD
    assert stat.S_IMODE(blob.stat().st_mode) & 0o7111 == 0, "execute and set-id bits removed"

    back = executor.execute("restore", {"id": rec["id"]})
    assert back.ok, back.message
    after = target.stat()
    assert target.read_bytes() == PAYLOAD
    assert stat.S_IMODE(after.st_mode) == 0o4755
    assert (after.st_uid, after.st_gid) == (1234, 5678)
    assert after.st_mtime_ns == before.st_mtime_ns
    assert after.st_atime_ns == before.st_atime_ns
    assert not blob.exists()


def test_round_trip_same_filesystem(executor: ResponseExecutor, tmp_path: Path) -> None:
    round_trip(executor, make_file(tmp_path / "dropper"))


def test_round_trip_across_filesystems(executor: ResponseExecutor, tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the vault")
    target = make_file(shm / f"aurora-test-{os.getpid()}")
    try:
        round_trip(executor, target)
    finally:
        target.unlink(missing_ok=True)


def test_twice_is_harmless(executor: ResponseExecutor, tmp_path: Path) -> None:
    target = make_file(tmp_path / "x")
    first = executor.execute("quarantine", {"path": str(target)})
    second = executor.execute("quarantine", {"path": str(target)})
    assert second.ok and second.data["id"] == first.data["id"]
    assert second.data["already_quarantined"] is True
    assert executor.execute("restore", {"id": first.data["id"]}).ok
    again = executor.execute("restore", {"id": first.data["id"]})
    assert again.ok and again.data["already_restored"] is True
    assert target.read_bytes() == PAYLOAD


def test_restore_does_not_overwrite(executor: ResponseExecutor, tmp_path: Path) -> None:
    target = make_file(tmp_path / "x")
    rec = executor.execute("quarantine", {"path": str(target)}).data
    target.write_text("new file")
    res = executor.execute("restore", {"id": rec["id"]})
    assert res.error_code == "path_exists"
    assert target.read_text() == "new file"


def test_tampered_vault_is_detected(executor: ResponseExecutor, tmp_path: Path) -> None:
    rec = executor.execute("quarantine", {"path": str(make_file(tmp_path / "x"))}).data
    blob = executor.vault.root / f"{rec['id']}.bin"
    os.chmod(blob, 0o600)
    blob.write_bytes(b"changed")
    res = executor.execute("restore", {"id": rec["id"]})
    assert res.error_code == "vault_corrupt"
    assert not (tmp_path / "x").exists()


def test_refused_paths(executor: ResponseExecutor, tmp_path: Path) -> None:
    state_file = tmp_path / "state" / "keep"
    state_file.write_text("sensor state")
    device = tmp_path / "null"
    os.mknod(device, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    link = tmp_path / "link"
    link.symlink_to(make_file(tmp_path / "target"))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    rec = executor.execute("quarantine", {"path": str(make_file(tmp_path / "q"))}).data
    vault_blob = executor.vault.root / f"{rec['id']}.bin"
    refused = {
        "/proc/self/status": "protected",
        "/sys/kernel/uevent_seqnum": "protected",
        "/dev/null": "device file",
        str(device): "device file",
        str(fifo): "named pipe",
        str(tmp_path): "directory",
        str(link): "symbolic link",
        str(state_file): "protected",
        str(vault_blob): "protected",
        aurora.__file__: "protected",
    }
    for path, why in refused.items():
        res = executor.execute("quarantine", {"path": path})
        assert res.error_code == "refused_path", (path, res)
        assert why in res.message, (path, res.message)
        assert os.path.lexists(path), path


def test_configured_refusals_and_bad_input(tmp_path: Path) -> None:
    need_root()
    keep = tmp_path / "keep"
    keep.mkdir()
    config = ResponseConfig(quarantine_refuse=[str(keep)])
    executor = ResponseExecutor(tmp_path / "state", config, None)
    res = executor.execute("quarantine", {"path": str(make_file(keep / "f"))})
    assert res.error_code == "refused_path"
    assert executor.execute("quarantine", {"path": "relative/file"}).error_code == "bad_params"
    assert executor.execute("quarantine", {}).error_code == "bad_params"
    missing = executor.execute("quarantine", {"path": str(tmp_path / "nope")})
    assert missing.error_code == "not_found"
    assert executor.execute("restore", {"id": "0" * 32}).error_code == "not_found"
    assert executor.execute("restore", {"id": "../etc/passwd"}).error_code == "bad_params"
