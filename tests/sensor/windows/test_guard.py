"""Windows guard checks: Sysmon service/driver state through advapi32 faked at the ctypes
boundary, Sysmon's own error/stop events and the canary, ETW session health, AMSI prologue
integrity and service recovery actions."""

from __future__ import annotations

import ctypes
from typing import Any

from aurora.sensor.windows.ffi.types import read_wide
from aurora.sensor.windows.guard import (
    SERVICE_RUNNING,
    ServiceApi,
    SysmonWatch,
    amsi_integrity,
    etw_health,
    recovery_configured,
    sysmon_service,
)
from aurora.sensor.windows.normalise import normalise_record


class FakeScm:
    def __init__(self, states: dict[str, int]) -> None:
        self.states = states
        self.open_handles: set[int] = set()
        self.names: dict[int, str] = {}

    def OpenSCManagerW(self, machine: Any, db: Any, access: int) -> int:
        self.open_handles.add(1)
        return 1

    def OpenServiceW(self, scm: int, name: int, access: int) -> int:
        n = read_wide(name)
        if n not in self.states:
            return 0
        h = 100 + len(self.names)
        self.names[h] = n
        self.open_handles.add(h)
        return h

    def QueryServiceStatus(self, h: int, status: Any) -> int:
        status._obj.dwCurrentState = self.states[self.names[h]]
        return 1

    def CloseServiceHandle(self, h: int) -> int:
        self.open_handles.discard(h)
        return 1


def test_sysmon_running_and_driver_loaded_is_healthy() -> None:
    scm = FakeScm({"Sysmon64": SERVICE_RUNNING, "SysmonDrv": SERVICE_RUNNING})
    assert all(f.healthy for f in sysmon_service(ServiceApi(scm)))
    assert scm.open_handles == set()  # every handle closed


def test_sysmon_stopped_or_missing_driver_is_reported() -> None:
    found = {f.check: f for f in sysmon_service(ServiceApi(FakeScm({"Sysmon64": 1})))}
    assert not found["sysmon.service"].healthy and "not running" in found["sysmon.service"].reason
    assert not found["sysmon.driver"].healthy


def sysmon(eid: int, **data: str) -> dict[str, Any]:
    return normalise_record(
        {
            "Event": {
                "System": {
                    "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                    "EventID": eid,
                    "Channel": "Microsoft-Windows-Sysmon/Operational",
                },
                "EventData": data,
            }
        }
    )


def test_sysmon_errors_stops_and_the_canary() -> None:
    now = [0.0]
    watch = SysmonWatch(clock=lambda: now[0])
    launched: list[str] = []
    marker = watch.start_canary(launched.append, timeout_s=30)
    assert launched == [marker]
    assert all(f.healthy for f in watch.findings())  # pending, not yet late
    watch.observe(sysmon(1, CommandLine="cmd.exe /c rem unrelated"))
    now[0] = 31.0
    late = {f.check: f for f in watch.findings()}
    assert not late["sysmon.canary"].healthy
    watch.observe(sysmon(1, CommandLine=f"cmd.exe /c rem {marker}"))
    assert all(f.healthy for f in watch.findings())
    watch.observe(sysmon(255, ID="DriverCommunication", Description="Failed to open driver"))
    watch.observe(sysmon(4, State="Stopped"))
    bad = {f.check: f for f in watch.findings()}
    assert "Failed to open driver" in bad["sysmon.errors"].reason
    assert not bad["sysmon.state"].healthy
    quiet = SysmonWatch()
    quiet.observe(sysmon(4, State="Started"))
    assert all(f.healthy for f in quiet.findings())


def test_etw_session_health() -> None:
    assert etw_health(True, 5, 5).healthy
    assert "lost 3 events" in etw_health(True, 5, 8).reason
    assert "gone" in etw_health(False, 0, 0).reason


def test_amsi_prologue_compared_with_disk() -> None:
    disk = bytes.fromhex("4c8bdc49895b0849896b104989")
    assert amsi_integrity(10, disk, disk).healthy
    patched = bytes.fromhex("b857000780c3") + disk[6:]
    finding = amsi_integrity(10, patched, disk)
    assert not finding.healthy and "known bypass (b857000780c3)" in finding.reason
    other = amsi_integrity(11, b"\x90" * 13, disk)
    assert not other.healthy and "pid 11" in other.reason
    assert not amsi_integrity(12, b"", disk).healthy


def test_service_recovery_actions() -> None:
    assert recovery_configured([(1, 60_000), (1, 60_000), (0, 0)]).healthy
    assert not recovery_configured([(0, 0)]).healthy
    assert not recovery_configured([]).healthy


def test_service_status_struct_is_seven_dwords() -> None:
    from aurora.sensor.windows.guard import SERVICE_STATUS

    assert ctypes.sizeof(SERVICE_STATUS) == 28  # winsvc.h, x64 and x86 alike
