"""The sensor's process table: seeded from /proc once, then kept current from kernel records.

It lets every event name its process, parent and ancestry without reading /proc per event (the
process is often gone by the time user space would look). Exited entries linger for a grace
period because records of other families can arrive after the exit record.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")
NS_PER_TICK = 1_000_000_000 // CLK_TCK
EXITED_GRACE_S = 2.0
ANCESTRY_MAX = 8


@dataclass(slots=True)
class Proc:
    pid: int
    ppid: int
    start_ns: int  # CLOCK_BOOTTIME, the kernel's start_boottime
    name: str = ""
    path: str = ""
    cmd_line: str = ""
    uid: int = -1
    cwd: str = ""
    sha256: str | None = None
    exe_key: tuple[int, int, int] | None = None  # (dev, inode, mtime): the hash cache's key
    exited: bool = False
    # OCSF renderings of this process, built once and shared by every event that names it;
    # cleared whenever the process changes (exec, setuid).
    ocsf: dict[str, Any] | None = None
    entity: dict[str, Any] | None = None
    lineage: list[dict[str, Any]] | None = None
    session: str = ""  # audit session id from the exec record ("" when unset)

    def changed(self) -> None:
        self.ocsf = None
        self.entity = None
        self.lineage = None

    @property
    def key(self) -> str:
        """Stable across /proc seeding and kernel records: /proc only has clock-tick precision."""
        return f"{self.pid}-{self.start_ns // NS_PER_TICK}"


class ProcessTable:
    def __init__(self) -> None:
        self.procs: dict[int, Proc] = {}
        self._exited: deque[tuple[float, int, int]] = deque()

    def seed_from_proc(self, root: Path = Path("/proc")) -> int:
        """Load every live process; returns how many were read."""
        for entry in root.iterdir():
            if entry.name.isdigit():
                proc = _read_proc(entry)
                if proc is not None:
                    self.procs[proc.pid] = proc
        return len(self.procs)

    def get(self, pid: int) -> Proc | None:
        return self.procs.get(pid)

    def fork(self, pid: int, ppid: int, start_ns: int) -> Proc:
        """A new process starts as a copy of its parent's image, as fork() does."""
        parent = self.procs.get(ppid)
        if parent is None:
            proc = Proc(pid, ppid, start_ns)
        else:  # positional: the hot path of every fork
            proc = Proc(
                pid,
                ppid,
                start_ns,
                parent.name,
                parent.path,
                parent.cmd_line,
                parent.uid,
                parent.cwd,
                parent.sha256,
                parent.exe_key,
            )
        self.procs[pid] = proc
        return proc

    def exec(self, pid: int, ppid: int, start_ns: int) -> Proc:
        proc = self.procs.get(pid)
        if proc is None or proc.start_ns // NS_PER_TICK != start_ns // NS_PER_TICK:
            proc = Proc(pid=pid, ppid=ppid, start_ns=start_ns)
            self.procs[pid] = proc
        proc.ppid = ppid
        proc.ocsf = proc.entity = proc.lineage = None  # changed(), inlined: once per exec
        return proc

    def exit(self, pid: int, now: float | None = None) -> Proc | None:
        proc = self.procs.get(pid)
        if proc is not None:
            proc.exited = True
            when = time.monotonic() if now is None else now
            self._exited.append((when + EXITED_GRACE_S, pid, proc.start_ns))
        return proc

    def reap(self, now: float | None = None) -> None:
        """Forget processes that exited more than the grace period ago."""
        now = time.monotonic() if now is None else now
        while self._exited and self._exited[0][0] <= now:
            _, pid, start = self._exited.popleft()
            proc = self.procs.get(pid)
            if proc is not None and proc.exited and proc.start_ns == start:
                del self.procs[pid]

    def ancestry(self, proc: Proc) -> list[Proc]:
        """Parent, grandparent, ... up to ANCESTRY_MAX, stopping at a loop or an unknown pid."""
        out: list[Proc] = []
        seen = {proc.pid}
        cur = self.procs.get(proc.ppid)
        while cur is not None and cur.pid not in seen and len(out) < ANCESTRY_MAX:
            out.append(cur)
            seen.add(cur.pid)
            cur = self.procs.get(cur.ppid)
        return out


def _read_proc(entry: Path) -> Proc | None:
    try:
        stat = (entry / "stat").read_bytes()
        # comm may hold spaces and parentheses: split after the last ')'.
        rparen = stat.rindex(b")")
        name = stat[stat.index(b"(") + 1 : rparen].decode(errors="replace")
        fields = stat[rparen + 2 :].split()
        ppid, start_ticks = int(fields[1]), int(fields[19])
        cmd = (entry / "cmdline").read_bytes().rstrip(b"\0").replace(b"\0", b" ")
        uid = entry.stat().st_uid
    except (OSError, ValueError, IndexError):
        return None
    try:
        path = os.readlink(entry / "exe")
    except OSError:
        path = ""
    try:
        cwd = os.readlink(entry / "cwd")
    except OSError:
        cwd = ""
    return Proc(
        pid=int(entry.name),
        ppid=ppid,
        start_ns=start_ticks * NS_PER_TICK,
        name=name,
        path=path,
        cmd_line=cmd.decode(errors="replace"),
        uid=uid,
        cwd=cwd,
    )
