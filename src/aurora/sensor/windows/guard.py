"""Windows guard checks: is the sensor still seeing what it should, and has anyone blinded it?

Each check returns :class:`GuardFinding` objects (healthy or not, with a one-line reason) so the
guard issue's reporter can send them as it does Linux hook health. The checks: Sysmon's service
and driver are running and it reported no error (event 255) or stop (event 4 "Stopped"); our ETW
session is alive and not losing events; a canary process the guard starts comes back as Sysmon
event 1; AmsiScanBuffer's first bytes in PowerShell processes match amsi.dll on disk; the sensor's
service restarts itself on failure. OS reads go through :class:`ServiceApi` (advapi32) and a
caller-supplied memory reader, both replaceable at the ctypes boundary.
"""

from __future__ import annotations

import ctypes
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aurora.sensor.windows.ffi.types import BOOL, DWORD, HANDLE, LPWSTR, LazyDll, wide

SERVICE_RUNNING = 4
SC_MANAGER_CONNECT = 0x0001
SERVICE_QUERY_STATUS = 0x0004
SYSMON_SERVICES = ("Sysmon64", "Sysmon")
SYSMON_DRIVER = "SysmonDrv"
# Byte patterns of the well-known AmsiScanBuffer patches: return E_INVALIDARG / S_OK at once.
AMSI_PATCHES = (
    bytes.fromhex("b8570007 80c3".replace(" ", "")),  # mov eax, 0x80070057; ret
    bytes.fromhex("31c0c3"),  # xor eax, eax; ret
    bytes.fromhex("c3"),  # ret
)


class SERVICE_STATUS(ctypes.Structure):
    _fields_ = [
        ("dwServiceType", DWORD),
        ("dwCurrentState", DWORD),
        ("dwControlsAccepted", DWORD),
        ("dwWin32ExitCode", DWORD),
        ("dwServiceSpecificExitCode", DWORD),
        ("dwCheckPoint", DWORD),
        ("dwWaitHint", DWORD),
    ]


advapi32_services = LazyDll(
    "advapi32",
    {
        "OpenSCManagerW": (HANDLE, [LPWSTR, LPWSTR, DWORD]),
        "OpenServiceW": (HANDLE, [HANDLE, LPWSTR, DWORD]),
        "QueryServiceStatus": (BOOL, [HANDLE, ctypes.POINTER(SERVICE_STATUS)]),
        "CloseServiceHandle": (BOOL, [HANDLE]),
    },
)


@dataclass(frozen=True)
class GuardFinding:
    check: str
    healthy: bool
    reason: str = ""
    #: How it is unhealthy, when the check knows better than its name says (``guard_checks``).
    state: str = ""


class ServiceApi:
    """Service state through the Service Control Manager."""

    def __init__(self, dll: Any = None) -> None:
        self.dll = dll if dll is not None else advapi32_services

    def state(self, name: str) -> int | None:
        """The service's dwCurrentState, or None if it does not exist."""
        scm = self.dll.OpenSCManagerW(None, None, SC_MANAGER_CONNECT)
        if not scm:
            return None
        try:
            service_name = wide(name)
            svc = self.dll.OpenServiceW(scm, ctypes.addressof(service_name), SERVICE_QUERY_STATUS)
            if not svc:
                return None
            try:
                status = SERVICE_STATUS()
                if not self.dll.QueryServiceStatus(svc, ctypes.byref(status)):
                    return None
                return int(status.dwCurrentState)
            finally:
                self.dll.CloseServiceHandle(svc)
        finally:
            self.dll.CloseServiceHandle(scm)


def sysmon_service(api: ServiceApi) -> list[GuardFinding]:
    states = {name: api.state(name) for name in SYSMON_SERVICES}
    running = [n for n, s in states.items() if s == SERVICE_RUNNING]
    out = [
        GuardFinding(
            "sysmon.service", bool(running), "" if running else "Sysmon service not running"
        )
    ]
    driver = api.state(SYSMON_DRIVER)
    out.append(
        GuardFinding(
            "sysmon.driver",
            driver == SERVICE_RUNNING,
            "" if driver == SERVICE_RUNNING else "SysmonDrv driver not loaded",
        )
    )
    return out


class SysmonWatch:
    """Reads the Sysmon events the sensor already receives: errors, stops and the canary."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.errors: list[str] = []
        self.stopped = False
        self.canary_marker = ""
        self.canary_deadline = 0.0
        self.canary_seen = True

    def start_canary(self, run: Callable[[str], None], timeout_s: float = 60.0) -> str:
        """Start a marker process (``run`` launches it); its Sysmon event 1 must come back."""
        self.canary_marker = f"aurora-canary-{uuid.uuid4().hex}"
        self.canary_seen = False
        self.canary_deadline = self.clock() + timeout_s
        run(self.canary_marker)
        return self.canary_marker

    def observe(self, event: dict[str, Any]) -> None:
        raw = event.get("unmapped") or {}
        if raw.get("Provider_Name") != "Microsoft-Windows-Sysmon":
            return
        eid = raw.get("EventID")
        if eid == 255:
            self.errors.append(str(raw.get("Description") or raw.get("ID") or "error"))
        elif eid == 4 and str(raw.get("State", "")).lower() == "stopped":
            self.stopped = True
        elif eid == 1 and self.canary_marker and self.canary_marker in str(raw.get("CommandLine")):
            self.canary_seen = True

    def findings(self) -> list[GuardFinding]:
        out = [
            GuardFinding(
                "sysmon.errors",
                not self.errors,
                f"Sysmon reported errors: {'; '.join(self.errors[-3:])}" if self.errors else "",
            ),
            GuardFinding(
                "sysmon.state",
                not self.stopped,
                "Sysmon reported it stopped" if self.stopped else "",
            ),
        ]
        if self.canary_marker:
            # Pending until its deadline: Sysmon reports within seconds, not at once.
            overdue = not self.canary_seen and self.clock() > self.canary_deadline
            reason = "the canary process was not reported by Sysmon" if overdue else ""
            out.append(GuardFinding("sysmon.canary", not overdue, reason))
        return out


def etw_health(alive: bool, lost_before: int, lost_now: int) -> GuardFinding:
    if not alive:
        return GuardFinding(
            "etw.session", False, "the ETW session is gone (stopped from outside?)", "detached"
        )
    if lost_now > lost_before:
        return GuardFinding(
            "etw.session", False, f"the ETW session lost {lost_now - lost_before} events", "stalled"
        )
    return GuardFinding("etw.session", True)


def amsi_integrity(pid: int, in_memory: bytes, on_disk: bytes) -> GuardFinding:
    """Compare AmsiScanBuffer's first bytes in a process with amsi.dll's on disk."""
    n = min(len(in_memory), len(on_disk))
    if n == 0:
        return GuardFinding(f"amsi.{pid}", False, "AmsiScanBuffer could not be read", "unreadable")
    if in_memory[:n] == on_disk[:n]:
        return GuardFinding(f"amsi.{pid}", True)
    known = next((p.hex() for p in AMSI_PATCHES if in_memory.startswith(p)), "")
    what = f"a known bypass ({known})" if known else f"{in_memory[:n].hex()} vs {on_disk[:n].hex()}"
    return GuardFinding(
        f"amsi.{pid}", False, f"AmsiScanBuffer is patched in pid {pid}: {what}", "replaced"
    )


def recovery_configured(actions: list[tuple[int, int]]) -> GuardFinding:
    """SERVICE_FAILURE_ACTIONS as (type, delay ms): at least one SC_ACTION_RESTART (1)."""
    if any(kind == 1 for kind, _ in actions):
        return GuardFinding("service.recovery", True)
    return GuardFinding("service.recovery", False, "the sensor service does not restart on failure")
