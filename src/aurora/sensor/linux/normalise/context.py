"""What every Linux event family's handler shares: the process table, caches and OCSF builders.

One :class:`NormaliseContext` per sensor. It keeps the per-sensor state (boot time, event uid
sequence, hash and name caches) and builds the objects most events carry (process with parent,
ancestry, actor, file, user), sharing read-only sub-dicts between events to keep them cheap.
"""

from __future__ import annotations

import os
import platform
import socket
import time
from itertools import count
from typing import Any

from aurora.ocsf import builders as ocsf
from aurora.sensor.linux.decode import Hdr
from aurora.sensor.linux.enrich import HashCache, NameCache
from aurora.sensor.linux.proctable import ANCESTRY_MAX, NS_PER_TICK, Proc, ProcessTable

_SHARED_CACHE_MAX = 4096


def boot_offset_ns() -> int:
    """Wall-clock time of boot, to turn CLOCK_BOOTTIME stamps into epoch times."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def device_info() -> dict[str, Any]:
    """The ``device`` object of this host, computed once per sensor."""
    return {
        "hostname": socket.gethostname(),
        "type_id": 0,
        "os": {
            "name": "Linux",
            "type_id": ocsf.OS_TYPE_LINUX,
            "kernel_release": platform.release(),
        },
    }


def text(raw: bytes) -> str:
    return raw.decode(errors="replace")


def comm_text(raw: bytes) -> str:
    """A task's comm without its NUL padding."""
    return raw.split(b"\0", 1)[0].decode(errors="replace")


class NormaliseContext:
    def __init__(self, table: ProcessTable, hash_max_bytes: int = 256 * 1024 * 1024) -> None:
        self.table = table
        self.hashes = HashCache(hash_max_bytes)
        self.names = NameCache()
        self.device = device_info()
        self.boot_ns = boot_offset_ns()
        self._seq = count(1)
        self._uid_prefix = os.urandom(4).hex() + "-"
        self._users: dict[int, dict[str, Any]] = {}
        self._exes: dict[tuple[str, str | None], dict[str, Any]] = {}

    def hash_seeded(self) -> None:
        """Hash the executables of the processes found in /proc at start (once per binary)."""
        for p in self.table.procs.values():
            exe = f"/proc/{p.pid}/exe"
            try:
                st = os.stat(exe)
            except OSError:
                continue
            p.exe_key = (st.st_dev, st.st_ino, st.st_mtime_ns)
            p.sha256 = self.hashes.sha256(p.exe_key, (exe,))

    def base(self, class_uid: int, activity_id: int, ts_ns: int) -> dict[str, Any]:
        """The OCSF skeleton of an event stamped ``ts_ns`` (CLOCK_BOOTTIME) with a fresh uid."""
        return ocsf.skeleton(
            class_uid,
            activity_id,
            (ts_ns + self.boot_ns) // 1_000_000,
            f"{self._uid_prefix}{next(self._seq):x}",
            self.device,
        )

    def _created_ms(self, start_ns: int) -> int:
        return (start_ns + self.boot_ns) // 1_000_000

    def user(self, uid: int) -> dict[str, Any]:
        """The OCSF user object for ``uid``, built once and shared (read-only)."""
        user = self._users.get(uid)
        if user is None:
            user = {"uid": str(uid)}
            name = self.names.user(uid)
            if name is not None:
                user["name"] = name
            self._users[uid] = user
        return user

    def proc_obj(self, p: Proc, depth: int = 1) -> dict[str, Any]:
        """The OCSF process object; with depth 1 also its parent. Shared sub-dicts: read-only."""
        if p.sha256 is None and p.exe_key is not None:
            self._late_hash(p)
        base = p.ocsf
        if base is None:
            base = {
                "pid": p.pid,
                "uid": p.key,
                "name": p.name,
                "cmd_line": p.cmd_line,
                "created_time": (p.start_ns + self.boot_ns) // 1_000_000,
                "user": self._users.get(p.uid) or self.user(p.uid),
            }
            if p.path:
                base["file"] = self._exe_obj(p.path, p.sha256)
            if p.cwd:
                base["working_directory"] = p.cwd
            p.ocsf = base
        if depth == 0:
            return base
        obj = dict(base)
        parent = self.table.procs.get(p.ppid)
        if parent is not None:
            obj["parent_process"] = self.proc_obj(parent, 0)
        elif p.ppid:
            obj["parent_process"] = {"pid": p.ppid}
        return obj

    def _late_hash(self, p: Proc) -> None:
        """Pick up a digest the background hasher finished after the process was first seen."""
        assert p.exe_key is not None
        sha = self.hashes.cached(p.exe_key)
        if isinstance(sha, str):
            p.sha256 = sha
            p.ocsf = None
        elif sha is None:
            p.exe_key = None  # unreadable or too big: stop asking

    def lineage(self, p: Proc) -> list[dict[str, Any]]:
        """``p`` and its ancestors as process entities, nearest first; cached on ``p`` (its
        children all share it) and rebuilt when ``p`` changes."""
        if p.lineage is None:
            p.lineage = [self._entity(a) for a in (p, *self.table.ancestry(p))][:ANCESTRY_MAX]
        return p.lineage

    def _entity(self, p: Proc) -> dict[str, Any]:
        if p.entity is None:
            # No cmd_line: parent_process carries the parent's in full, and repeating every
            # ancestor's would multiply the size of each event.
            p.entity = {
                "pid": p.pid,
                "uid": p.key,
                "name": p.name,
                "path": p.path,
                "created_time": self._created_ms(p.start_ns),
            }
        return p.entity

    def file_obj(self, path: str, sha256: str | None = None) -> dict[str, Any]:
        f: dict[str, Any] = {"path": path, "name": path.rsplit("/", 1)[-1], "type_id": 1}
        if sha256:
            f["hashes"] = [
                {"algorithm_id": ocsf.SHA256_ALGORITHM_ID, "algorithm": "SHA-256", "value": sha256}
            ]
        return f

    def _exe_obj(self, path: str, sha256: str | None) -> dict[str, Any]:
        """File object of an executable, shared by every process running it (read-only)."""
        key = (path, sha256)
        f = self._exes.get(key)
        if f is None:
            if len(self._exes) >= _SHARED_CACHE_MAX:
                self._exes.clear()
            f = self._exes[key] = self.file_obj(path, sha256)
        return f

    def actor_proc(self, hdr: Hdr) -> Proc:
        return self.proc_of(hdr.pid, hdr.ppid, hdr.start_ns, hdr.comm, hdr.uid)

    def proc_of(self, pid: int, ppid: int, start_ns: int, comm: bytes, uid: int) -> Proc:
        p = self.table.procs.get(pid)
        if p is None or p.start_ns // NS_PER_TICK != start_ns // NS_PER_TICK:
            # Unknown to the table (started before seeding raced, or a missed exec).
            p = self.table.exec(pid, ppid, start_ns)
            p.name, p.uid = comm_text(comm), uid
        return p

    def actor(self, hdr: Hdr) -> dict[str, Any]:
        return {"process": self.proc_obj(self.actor_proc(hdr))}

    def process_with_ancestry(self, p: Proc) -> dict[str, Any]:
        """``p``'s process object with its parent, its parent's ancestry and its login session:
        for events worth tracing to the process tree they came from (the escape family's)."""
        obj = self.proc_obj(p)
        if p.session:
            obj["session"] = {"uid": p.session}
        parent = self.table.procs.get(p.ppid)
        if parent is not None:
            obj["ancestry"] = self.lineage(parent)
        return obj
