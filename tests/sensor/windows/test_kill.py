"""Windows kill: start-time check against pid reuse, protected processes, trees, with kernel32
faked at the ctypes boundary (a table of processes the fake OS holds)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import pytest

from aurora.sensor.response.errors import (
    NoSuchProcess,
    PermissionDenied,
    PidRecycled,
    ProtectedProcess,
)
from aurora.sensor.windows.kill import ProcessApi, kill_process

UNIX_TO_FILETIME = 116444736000000000
T0 = 1_700_000_000_000  # ms


@dataclass
class Proc:
    created_ms: int
    image: str
    denied: bool = False
    alive: bool = True


class FakeKernel32:
    def __init__(self, procs: dict[int, Proc]) -> None:
        self.procs = procs
        self.error = 0
        self.handles: dict[int, int] = {}
        self.closed: list[int] = []

    def OpenProcess(self, access: int, inherit: int, pid: int) -> int:
        p = self.procs.get(pid)
        if p is None or not p.alive:
            self.error = 87
            return 0
        if p.denied:
            self.error = 5
            return 0
        h = 1000 + len(self.handles)
        self.handles[h] = pid
        return h

    def GetProcessTimes(self, h: int, created: int, *rest: int) -> int:
        ms = self.procs[self.handles[h]].created_ms
        ctypes.c_uint64.from_address(created).value = ms * 10_000 + UNIX_TO_FILETIME
        return 1

    def QueryFullProcessImageNameW(self, h: int, flags: int, buf: Any, size: Any) -> int:
        path = "C:\\Windows\\System32\\" + self.procs[self.handles[h]].image
        data = path.encode("utf-16-le")
        ctypes.memmove(buf, data, len(data))
        size._obj.value = len(path)
        return 1

    def TerminateProcess(self, h: int, code: int) -> int:
        self.procs[self.handles[h]].alive = False
        return 1

    def CloseHandle(self, h: int) -> int:
        self.closed.append(h)
        return 1


def setup(procs: dict[int, Proc], tree: dict[int, list[int]] | None = None) -> tuple[Any, Any]:
    k = FakeKernel32(procs)
    api = ProcessApi(k, lambda: k.error)
    return k, (api, lambda pid: (tree or {}).get(pid, []))


def test_kills_the_process_whose_start_time_matches() -> None:
    k, (api, kids) = setup({500: Proc(T0, "evil.exe")})
    out = kill_process(500, T0 + 3, False, 1000, 9, api, kids)
    assert out == {"pid": 500, "tree": False, "killed": [500], "still_alive": []}
    assert not k.procs[500].alive and k.closed  # handle released


def test_a_recycled_pid_is_refused() -> None:
    k, (api, kids) = setup({500: Proc(T0 + 60_000, "notepad.exe")})
    with pytest.raises(PidRecycled, match="recycled"):
        kill_process(500, T0, False, 1000, 9, api, kids)
    assert k.procs[500].alive


@pytest.mark.parametrize(
    ("pid", "image"), [(4, "System"), (9, "aurora.exe"), (600, "csrss.exe"), (601, "lsass.exe")]
)
def test_protected_processes_are_never_killed(pid: int, image: str) -> None:
    k, (api, kids) = setup({pid: Proc(T0, image)})
    with pytest.raises(ProtectedProcess):
        kill_process(pid, None, False, 1000, 9, api, kids)
    assert k.procs[pid].alive


def test_tree_kill_leaves_first_and_skips_recycled_descendants() -> None:
    procs = {
        500: Proc(T0, "cmd.exe"),
        501: Proc(T0 + 10, "powershell.exe"),
        502: Proc(T0 + 20, "rundll32.exe"),
        503: Proc(T0 - 5000, "explorer.exe"),  # listed as a child, but older: a reused pid
    }
    _, (api, kids) = setup(procs, {500: [501, 502, 503]})
    out = kill_process(500, T0, True, 1000, 9, api, kids)
    assert out["killed"] == [500, 501, 502]
    assert procs[503].alive


def test_a_tree_containing_the_sensor_is_refused_before_anything_dies() -> None:
    procs = {500: Proc(T0, "services.host.exe"), 9: Proc(T0 + 1, "aurora.exe")}
    _, (api, kids) = setup(procs, {500: [9]})
    with pytest.raises(ProtectedProcess, match="contains the sensor"):
        kill_process(500, None, True, 1000, 9, api, kids)
    assert procs[500].alive and procs[9].alive


def test_missing_and_denied_processes_are_typed_errors() -> None:
    _, (api, kids) = setup({501: Proc(T0, "x.exe", denied=True)})
    with pytest.raises(NoSuchProcess):
        kill_process(500, None, False, 1000, 9, api, kids)
    with pytest.raises(PermissionDenied):
        kill_process(501, None, False, 1000, 9, api, kids)
