"""Kill a process (or its tree) on Windows without hitting a recycled pid.

``OpenProcess`` returns a handle that names that process object for good, as a pidfd does on
Linux; its creation time (``GetProcessTimes``) is compared with the start time from the event,
so a pid reused before the command arrived is refused. Session-critical processes (killing
csrss or wininit stops the machine), the System process and the sensor are never killed. Tree
members are opened before anything is terminated, then terminated leaves first.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from aurora.sensor.response.errors import (
    NoSuchProcess,
    PermissionDenied,
    PidRecycled,
    ProtectedProcess,
)
from aurora.sensor.windows.ffi.types import BOOL, DWORD, HANDLE, LazyDll

PROCESS_TERMINATE = 0x0001
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
ERROR_ACCESS_DENIED = 5
ERROR_INVALID_PARAMETER = 87  # what OpenProcess says for a pid with no process
_FILETIME_UNIX_OFFSET = 116444736000000000
PROTECTED_PIDS = {0, 4}
CRITICAL_IMAGES = {
    "csrss.exe",
    "wininit.exe",
    "smss.exe",
    "services.exe",
    "lsass.exe",
    "winlogon.exe",
}

kernel32 = LazyDll(
    "kernel32",
    {
        "OpenProcess": (HANDLE, [DWORD, BOOL, DWORD]),
        "GetProcessTimes": (
            BOOL,
            [HANDLE, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p],
        ),
        "QueryFullProcessImageNameW": (
            BOOL,
            [HANDLE, DWORD, ctypes.c_void_p, ctypes.POINTER(DWORD)],
        ),
        "TerminateProcess": (BOOL, [HANDLE, ctypes.c_uint32]),
        "CloseHandle": (BOOL, [HANDLE]),
    },
)


class ProcessApi:
    """The kernel32 calls kill needs; tests pass a fake ``dll`` with the same functions."""

    def __init__(self, dll: Any = None, last_error: Callable[[], int] | None = None) -> None:
        self.dll = dll if dll is not None else kernel32
        getter: Callable[[], int] = getattr(ctypes, "get_last_error", lambda: 0)
        self.last_error = last_error or getter

    def open(self, pid: int) -> int:
        h = self.dll.OpenProcess(PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION, 0, pid)
        if not h:
            code = int(self.last_error())
            if code == ERROR_ACCESS_DENIED:
                raise PermissionDenied(f"access to process {pid} was denied")
            raise NoSuchProcess(f"no process with pid {pid}")
        return int(h)

    def created_ms(self, handle: int) -> float:
        times = (ctypes.c_uint64 * 4)()
        addr = ctypes.addressof(times)
        if not self.dll.GetProcessTimes(handle, addr, addr + 8, addr + 16, addr + 24):
            raise NoSuchProcess("the process exited before its start time could be read")
        return (times[0] - _FILETIME_UNIX_OFFSET) / 10_000

    def image_name(self, handle: int) -> str:
        buf = ctypes.create_string_buffer(2 * 1024)
        size = DWORD(1024)
        if not self.dll.QueryFullProcessImageNameW(handle, 0, buf, ctypes.byref(size)):
            return ""
        path = buf.raw[: size.value * 2].decode("utf-16-le", "replace")
        return path.rsplit("\\", 1)[-1]

    def terminate(self, handle: int) -> bool:
        return bool(self.dll.TerminateProcess(handle, 1))

    def close(self, handle: int) -> None:
        self.dll.CloseHandle(handle)


def _psutil_children(pid: int) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_process(
    pid: int,
    start_time_ms: float | None,
    tree: bool,
    tolerance_ms: int,
    sensor_pid: int,
    api: ProcessApi | None = None,
    children: Callable[[int], list[int]] = _psutil_children,
) -> dict[str, Any]:
    """Kill ``pid`` (and its descendants when ``tree``); returns the pids killed."""
    api = api or ProcessApi()
    if pid in PROTECTED_PIDS or pid == sensor_pid:
        raise ProtectedProcess(f"refusing to kill pid {pid}: the system or the sensor")
    handles: dict[int, int] = {}
    try:
        handles[pid] = api.open(pid)
        root_ms = api.created_ms(handles[pid])
        if start_time_ms is not None and abs(root_ms - start_time_ms) > tolerance_ms:
            raise PidRecycled(
                f"pid {pid} started at {root_ms:.0f} ms, not {start_time_ms:.0f} ms: "
                "the pid was recycled, refusing to kill"
            )
        for member in [pid, *(children(pid) if tree else [])]:
            if member == sensor_pid:
                raise ProtectedProcess(
                    f"refusing to kill the tree of {pid}: it contains the sensor"
                )
            if member not in handles:
                try:
                    handles[member] = api.open(member)
                except NoSuchProcess:
                    continue  # exited meanwhile
                # A descendant cannot be older than the root: an older one is a recycled pid.
                if api.created_ms(handles[member]) < root_ms:
                    api.close(handles.pop(member))
                    continue
            if api.image_name(handles[member]).lower() in CRITICAL_IMAGES:
                raise ProtectedProcess(f"refusing to kill pid {member}: a session-critical process")
        killed = [p for p in reversed(list(handles)) if api.terminate(handles[p])]
        alive = sorted(set(handles) - set(killed))
        return {"pid": pid, "tree": tree, "killed": sorted(killed), "still_alive": alive}
    finally:
        for h in handles.values():
            api.close(h)
