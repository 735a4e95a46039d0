"""Kill a process, or its whole tree, without ever hitting the wrong one.

Signals go through pidfds (``pidfd_open`` + ``pidfd_send_signal``): once the pidfd is open it
names that process for good, so a pid recycled between our check and the signal cannot be hit.
The start time from the triggering event is compared with the live process's, so a pid that was
recycled *before* the command arrived is refused too. pid 1, kernel threads and the sensor are
never killed. A tree is frozen with SIGSTOP first, so it cannot fork its way out, then killed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aurora.sensor.response.errors import (
    NoSuchProcess,
    PermissionDenied,
    PidRecycled,
    ProtectedProcess,
)

PF_KTHREAD = 0x00200000
_FREEZE_ROUNDS = 8
_WAIT_S = 5.0


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    comm: str
    flags: int
    start_ms: float


def _boot_time_s(proc: Path) -> int:
    for line in (proc / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return int(line.split()[1])
    raise OSError(errno.EINVAL, "no btime in /proc/stat")


def read_stat(pid: int, proc: Path = Path("/proc")) -> ProcStat:
    """Parse /proc/PID/stat; ``start_ms`` is epoch milliseconds (btime + starttime ticks)."""
    try:
        raw = (proc / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        raise NoSuchProcess(f"no process with pid {pid}") from None
    # comm may contain spaces and parentheses: it ends at the last ')'.
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    start_ms = (_boot_time_s(proc) + int(fields[19]) / ticks) * 1000.0
    return ProcStat(pid, int(fields[1]), comm, int(fields[6]), start_ms)


def process_start_ms(pid: int) -> float:
    """The start time the kill check compares against (what events should carry)."""
    return read_stat(pid).start_ms


def _ancestors(pid: int) -> set[int]:
    seen: set[int] = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            pid = read_stat(pid).ppid
        except NoSuchProcess:
            break
    return seen


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(NoSuchProcess, OSError, ValueError, IndexError):
                st = read_stat(int(entry.name))
                children.setdefault(st.ppid, []).append(st.pid)
    return children


def _descendants(root: int) -> list[int]:
    children = _children_map()
    out: list[int] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def check_protected(st: ProcStat, sensor_pid: int) -> None:
    if st.pid == 1:
        raise ProtectedProcess("refusing to kill pid 1 (init)")
    # The flag, not "pid 2 or child of pid 2": pid numbers mean nothing in a pid namespace.
    if st.flags & PF_KTHREAD:
        raise ProtectedProcess(f"refusing to kill kernel thread {st.pid} ({st.comm})")
    if st.pid == sensor_pid:
        raise ProtectedProcess(f"refusing to kill the sensor itself (pid {st.pid})")


class _Signaller:
    """The pidfds of the processes being killed, opened once and closed together."""

    def __init__(self) -> None:
        self.fds: dict[int, int] = {}

    def open(self, pid: int) -> int | None:
        if pid not in self.fds:
            try:
                self.fds[pid] = os.pidfd_open(pid)
            except ProcessLookupError:
                return None
            except OSError as exc:
                # A thread id, not a thread-group leader: EINVAL before Linux 6.9, ENOENT after.
                if exc.errno in (errno.EINVAL, errno.ENOENT):
                    raise NoSuchProcess(f"{pid} is a thread id, not a process id") from None
                raise
        return self.fds[pid]

    def drop(self, pid: int) -> None:
        os.close(self.fds.pop(pid))

    def send(self, pid: int, sig: int) -> bool:
        fd = self.fds[pid]
        try:
            signal.pidfd_send_signal(fd, sig)
        except ProcessLookupError:
            return False
        except PermissionError:
            raise PermissionDenied(
                f"not permitted to signal pid {pid}; the sensor needs root or CAP_KILL"
            ) from None
        return True

    def wait_all(self, timeout: float) -> list[int]:
        """pids still alive after ``timeout`` (a pidfd turns readable when its process exits)."""
        poller = select.poll()
        for fd in self.fds.values():
            poller.register(fd, select.POLLIN)
        pending = set(self.fds.values())
        deadline = time.monotonic() + timeout
        while pending and (left := deadline - time.monotonic()) > 0:
            for fd, _ in poller.poll(left * 1000):
                pending.discard(fd)
                poller.unregister(fd)
        return sorted(pid for pid, fd in self.fds.items() if fd in pending)

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


def kill_process(
    pid: int, start_time_ms: float | None, tree: bool, tolerance_ms: int, sensor_pid: int
) -> dict[str, Any]:
    """Kill ``pid`` (and its descendants when ``tree``); returns the pids killed."""
    sig = _Signaller()
    try:
        if sig.open(pid) is None:
            raise NoSuchProcess(f"no process with pid {pid}")
        # Read after opening the pidfd: if this stat is the expected process, so is the pidfd.
        st = read_stat(pid)
        if start_time_ms is not None and abs(st.start_ms - start_time_ms) > tolerance_ms:
            raise PidRecycled(
                f"pid {pid} ({st.comm}) started at {st.start_ms:.0f} ms, not {start_time_ms:.0f}"
                " ms: the pid was recycled, refusing to kill"
            )
        check_protected(st, sensor_pid)
        if tree and pid in _ancestors(sensor_pid):
            raise ProtectedProcess(
                f"refusing to kill the tree of pid {pid}: it contains the sensor"
            )
        if not sig.send(pid, signal.SIGSTOP if tree else signal.SIGKILL):
            raise NoSuchProcess(f"process {pid} exited before it could be killed")
        if tree:
            try:
                _freeze_tree(sig, pid, sensor_pid)
            except ProtectedProcess:
                # Leave the tree as we found it: running.
                for member in sig.fds:
                    sig.send(member, signal.SIGCONT)
                raise
            for member in sorted(sig.fds):
                sig.send(member, signal.SIGKILL)
        alive = sig.wait_all(_WAIT_S)
        killed = sorted(p for p in sig.fds if p not in alive)
        return {"pid": pid, "tree": tree, "killed": killed, "still_alive": alive}
    finally:
        sig.close()


def _freeze_tree(sig: _Signaller, root: int, sensor_pid: int) -> None:
    """SIGSTOP every descendant until a pass finds no new one (children forked meanwhile)."""
    for _ in range(_FREEZE_ROUNDS):
        new = [p for p in _descendants(root) if p not in sig.fds]
        if not new:
            return
        for child in new:
            if child == sensor_pid:
                raise ProtectedProcess(
                    f"refusing to kill the tree of {root}: it contains the sensor"
                )
            if sig.open(child) is None:
                continue
            # The pid may have been recycled since the scan: only a child of the tree is ours.
            try:
                parent_ok = read_stat(child).ppid in sig.fds
            except NoSuchProcess:
                parent_ok = False
            if parent_ok:
                sig.send(child, signal.SIGSTOP)
            else:
                sig.drop(child)
