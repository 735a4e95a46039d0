"""Quarantine a file into a 0700 vault and restore it exactly (content, owner, mode, times).

The file is moved, not copied, when the vault shares its filesystem, so the inode (and any open
handle a process holds) goes with it and nothing is left at the original path. In the vault it
loses every permission bit but owner-read. A JSON record next to it keeps what restore needs.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import time
import uuid
from pathlib import Path
from typing import Any

from aurora.atomicfile import write_atomic
from aurora.sensor.response.errors import (
    BadParams,
    NotFound,
    PathExists,
    RefusedPath,
    ResponseError,
    VaultCorrupt,
)

# /dev itself is not refused: /dev/shm is a favourite drop spot. Device nodes are refused by type.
ALWAYS_REFUSED = (Path("/proc"), Path("/sys"))
_ID = re.compile(r"^[0-9a-f]{32}$")
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _move(src: Path, dst: Path) -> None:
    """rename when possible; across filesystems copy, fsync, then unlink the source."""
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copyfile(src, dst, follow_symlinks=False)
        with dst.open("rb") as fh:
            os.fsync(fh.fileno())
        os.unlink(src)


class Vault:
    """The quarantine vault under the sensor's state directory.

    The flow (checks, move, hash, record, idempotence, restore's refusals) is shared; what a file
    keeps besides its content and how the vault is locked are the platform's: ``_ensure``,
    ``_check_extra``, ``_metadata``, ``_lock_down`` and ``_put_back`` (POSIX here, Windows in
    :mod:`.quarantine_windows`).
    """

    def __init__(self, root: Path, refused: list[Path]) -> None:
        self.root = root
        self._refused = [Path(os.path.realpath(p)) for p in [*ALWAYS_REFUSED, root, *refused]]

    def _ensure(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def check_path(self, raw: str) -> Path:
        """The absolute path to quarantine, or a typed refusal saying why not."""
        path = Path(raw)
        if not path.is_absolute():
            raise BadParams(f"quarantine path must be absolute, got {raw!r}")
        real = Path(os.path.realpath(path))
        for root in self._refused:
            if real == root or real.is_relative_to(root):
                raise RefusedPath(f"refusing to quarantine {raw}: {root} is protected")
        self._check_extra(raw)
        return path

    def _check_extra(self, raw: str) -> None:
        """Platform refusals beyond the protected roots (none on POSIX)."""

    def quarantine(self, raw: str) -> dict[str, Any]:
        path = self.check_path(raw)
        try:
            st = path.lstat()
        except FileNotFoundError:
            done = self._find_quarantined(str(path))
            if done is not None:
                # Asked twice: the first request already did the work.
                return {**done, "already_quarantined": True}
            raise NotFound(f"no file at {raw}") from None
        if stat.S_ISLNK(st.st_mode):
            target = os.path.realpath(path)
            raise RefusedPath(f"{raw} is a symbolic link to {target}; quarantine the target")
        if not stat.S_ISREG(st.st_mode):
            raise RefusedPath(f"refusing to quarantine {raw}: it is {_kind(st.st_mode)}")
        self._ensure()
        kept = self._metadata(path, st)
        entry_id = uuid.uuid4().hex
        blob = self.root / f"{entry_id}.bin"
        _move(path, blob)
        moved = blob.lstat()
        if not stat.S_ISREG(moved.st_mode):
            # Swapped for a symlink or device between our check and the move: chmod would follow.
            _move(blob, path)
            raise RefusedPath(f"{raw} changed while being quarantined; nothing was done")
        try:
            self._lock_down(blob)
        except ResponseError:
            _move(blob, path)  # an unlocked file must not sit in the vault: put it back
            raise
        record = {
            "id": entry_id,
            "state": "quarantined",
            "original_path": str(path),
            "sha256": sha256_file(blob),
            "size": st.st_size,
            **kept,
            "atime_ns": st.st_atime_ns,
            "mtime_ns": st.st_mtime_ns,
            "ctime_ns": st.st_ctime_ns,
            # Other hard links still reach the content; the analyst should know.
            "other_links": st.st_nlink - 1,
            "quarantined_at": time.time(),
        }
        self._write_record(record)
        return record

    def _metadata(self, path: Path, st: os.stat_result) -> dict[str, Any]:
        """What restore puts back besides content and times: owner and mode on POSIX."""
        return {"uid": st.st_uid, "gid": st.st_gid, "mode": stat.S_IMODE(st.st_mode)}

    def _lock_down(self, blob: Path) -> None:
        os.chmod(blob, stat.S_IRUSR)

    def _put_back(self, dest: Path, record: dict[str, Any]) -> None:
        # chown first: it clears set-uid/set-gid bits that chmod then puts back.
        os.chown(dest, record["uid"], record["gid"], follow_symlinks=False)
        os.chmod(dest, record["mode"])
        os.utime(dest, ns=(record["atime_ns"], record["mtime_ns"]), follow_symlinks=False)

    def restore(self, entry_id: str) -> dict[str, Any]:
        if not _ID.match(entry_id):
            raise BadParams(f"quarantine id must be 32 hex digits, got {entry_id!r}")
        record = self._read_record(entry_id)
        if record["state"] == "restored":
            return {**record, "already_restored": True}
        blob = self.root / f"{entry_id}.bin"
        if sha256_file(blob) != record["sha256"]:
            raise VaultCorrupt(f"quarantined file {entry_id} no longer matches its SHA-256")
        dest = Path(record["original_path"])
        if os.path.lexists(dest):
            raise PathExists(f"cannot restore {entry_id}: {dest} exists now; move it away first")
        if not dest.parent.is_dir():
            raise NotFound(f"cannot restore {entry_id}: directory {dest.parent} is gone")
        _move(blob, dest)
        try:
            self._put_back(dest, record)
        except ResponseError:
            # Half-restored is worse than not restored: back into the vault, locked, still listed.
            _move(dest, blob)
            self._lock_down(blob)
            raise
        record = {**record, "state": "restored", "restored_at": time.time()}
        self._write_record(record)
        return record

    def entries(self) -> list[dict[str, Any]]:
        if not self.root.is_dir():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.root.glob("*.json"))]

    def _find_quarantined(self, original: str) -> dict[str, Any] | None:
        for record in self.entries():
            if record["original_path"] == original and record["state"] == "quarantined":
                return record
        return None

    def _read_record(self, entry_id: str) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.root / f"{entry_id}.json").read_text())
        except FileNotFoundError:
            raise NotFound(f"no quarantine entry {entry_id}") from None
        return data

    def _write_record(self, record: dict[str, Any]) -> None:
        write_atomic(self.root / f"{record['id']}.json", json.dumps(record, indent=1).encode())
