"""The Windows guard checks as guard observations: each finding's state (which tamper rule it
raises), the canary staying blind until Sysmon reports one, the canary's own event dropped, and
the ETW session stopped from outside; advapi32 faked at the ctypes boundary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aurora.sensor.guard.status import OK
from aurora.sensor.windows.etw_session import EtwSession
from aurora.sensor.windows.ffi import etw_api as api
from aurora.sensor.windows.ffi.types import read_wide
from aurora.sensor.windows.guard import SERVICE_RUNNING, GuardFinding, ServiceApi
from aurora.sensor.windows.guard_checks import WindowsGuardChecks, observation, windows_source
from aurora.sensor.windows.sensor import WindowsSensor

from .test_etw_session import FakeAdvapi32
from .test_guard import FakeScm


class StoppableEtw(FakeAdvapi32):
    """QUERY answers ERROR_WMI_INSTANCE_NOT_FOUND once the session is stopped from outside."""

    def ControlTraceW(self, handle: int, name: int, props: int, code: int) -> int:
        if code == api.EVENT_TRACE_CONTROL_QUERY and read_wide(name) not in self.sessions:
            return api.ERROR_WMI_INSTANCE_NOT_FOUND
        return super().ControlTraceW(handle, name, props, code)


def sysmon_event(eid: int, **fields: Any) -> dict[str, Any]:
    return {"unmapped": {"Provider_Name": "Microsoft-Windows-Sysmon", "EventID": eid, **fields}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_checks(tmp_path: Path, scm: FakeScm, etw: StoppableEtw) -> tuple[WindowsGuardChecks, Any]:
    sensor = WindowsSensor(tmp_path, channels=(), etw=EtwSession(dll=etw))
    sensor.start()
    launched: list[str] = []
    checks = WindowsGuardChecks(
        sensor,
        canary_timeout_s=30,
        services=ServiceApi(scm),
        amsi=lambda: [GuardFinding("amsi.4242", False, "AmsiScanBuffer is patched", "replaced")],
        recovery=lambda: [(0, 0)],
        canary=launched.append,
    )
    clock = Clock()
    checks.watch.clock = clock
    return checks, (sensor, launched, clock)


def test_states_name_the_tamper_rule_each_finding_raises(tmp_path: Path) -> None:
    scm = FakeScm({"Sysmon64": SERVICE_RUNNING, "SysmonDrv": 1})
    etw = StoppableEtw()
    checks, (sensor, _, _) = make_checks(tmp_path, scm, etw)
    etw.lost = (3, 0)
    seen = {o.name: o for o in checks.observations()}
    assert seen["sysmon.service"].state == OK
    assert seen["sysmon.driver"].state == "detached"  # -> hook_detached, critical
    assert seen["etw.session"].state == "stalled"  # -> family_blind
    assert seen["etw.session"].detail == "the ETW session lost 3 events"
    assert seen["amsi.4242"].state == "replaced"  # -> hook_replaced
    assert seen["service.recovery"].state == "misconfigured"  # heartbeat only
    etw.sessions.clear()  # logman stop AuroraEDR
    seen = {o.name: o for o in checks.observations()}
    assert seen["etw.session"].state == "detached"
    assert "gone" in seen["etw.session"].detail
    assert windows_source(sensor) is sensor
    sensor.stop()


def test_canary_goes_blind_at_its_deadline_and_stays_blind_until_seen(tmp_path: Path) -> None:
    scm = FakeScm({"Sysmon64": SERVICE_RUNNING, "SysmonDrv": SERVICE_RUNNING})
    checks, (sensor, launched, clock) = make_checks(tmp_path, scm, StoppableEtw())

    def canary_state() -> str:
        return {o.name: o.state for o in checks.observations()}.get("sysmon.canary", "none")

    assert canary_state() == "none" and len(launched) == 1  # the first canary is started
    clock.now += 10
    assert canary_state() == OK and len(launched) == 1  # pending, not yet due
    clock.now += 30
    assert canary_state() == "blind" and len(launched) == 2  # overdue: reported, another sent
    clock.now += 1
    assert canary_state() == "blind", "a pending new canary does not clear the blindness"
    marker = launched[-1]
    kept = checks.consume([sysmon_event(1, CommandLine=f"cmd.exe /d /c rem {marker}"),
                           sysmon_event(1, CommandLine="notepad.exe")])  # fmt: skip
    assert [e["unmapped"]["CommandLine"] for e in kept] == ["notepad.exe"]
    assert canary_state() == OK and len(launched) == 3
    sensor.stop()


def test_sysmon_error_and_stop_events(tmp_path: Path) -> None:
    scm = FakeScm({"Sysmon64": SERVICE_RUNNING, "SysmonDrv": SERVICE_RUNNING})
    checks, (sensor, _, _) = make_checks(tmp_path, scm, StoppableEtw())
    checks.consume([sysmon_event(255, Description="Failed to access the driver")])
    checks.consume([sysmon_event(4, State="Stopped")])
    seen = {o.name: o for o in checks.observations()}
    assert seen["sysmon.errors"].state == "blind"
    assert "Failed to access the driver" in seen["sysmon.errors"].detail
    assert seen["sysmon.state"].state == "detached"
    sensor.stop()


def test_unknown_unhealthy_check_is_failing() -> None:
    assert observation(GuardFinding("something.new", False, "why")).state == "failing"
    assert observation(GuardFinding("something.new", True)).state == OK
