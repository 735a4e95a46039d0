"""The Windows guard checks as the guard's observations: what :class:`~aurora.sensor.guard.Guard`
records, reports in every heartbeat's hook health and turns into tamper events on Windows.

Each check of ``windows.guard`` (Sysmon service, driver, errors and stop, the canary; our ETW
session alive and not losing events; AmsiScanBuffer intact in every PowerShell process; the
service's recovery actions) becomes an :class:`Observation` whose state names the tamper rule it
raises, as the Linux hook checks' do: ``detached`` (Sysmon or our ETW session stopped),
``replaced`` (AmsiScanBuffer patched), ``blind``/``stalled`` (Sysmon errors, the canary not
coming back, ETW losing events). Unreadable memory and missing recovery actions are reported in
the heartbeat only.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from aurora.sensor.guard.status import OK, Observation
from aurora.sensor.windows.amsi_memory import check_amsi
from aurora.sensor.windows.guard import (
    GuardFinding,
    ServiceApi,
    SysmonWatch,
    etw_health,
    recovery_configured,
    sysmon_service,
)
from aurora.sensor.windows.sensor import WindowsSensor

log = logging.getLogger("aurora.sensor.guard")

# The state of an unhealthy finding whose check does not say it itself.
_STATE_OF_CHECK = {
    "sysmon.service": "detached",
    "sysmon.driver": "detached",
    "sysmon.state": "detached",
    "sysmon.errors": "blind",
    "sysmon.canary": "blind",
    "service.recovery": "misconfigured",
}
CREATE_NO_WINDOW = 0x08000000


def windows_device() -> dict[str, Any]:
    """This host as the OCSF ``device`` of the guard's findings."""
    os_facts = {"name": "Windows", "type_id": 100, "type": "Windows"}
    return {"hostname": socket.gethostname(), "type_id": 0, "os": os_facts}


def windows_source(source: Any) -> WindowsSensor | None:
    """The Windows sensor inside ``source`` (the plugin host wraps it as ``primary``), if any."""
    while not isinstance(source, WindowsSensor) and hasattr(source, "primary"):
        source = source.primary
    return source if isinstance(source, WindowsSensor) else None


def run_canary(marker: str) -> None:
    """A short process whose command line carries the marker; Sysmon must report it (event 1)."""
    subprocess.Popen(
        ["cmd.exe", "/d", "/c", "rem", marker],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        creationflags=CREATE_NO_WINDOW if sys.platform == "win32" else 0,
    )


def _recovery() -> list[tuple[int, int]] | None:
    from aurora.sensor.windows.service import ServiceUnavailable, recovery_actions

    try:
        return recovery_actions()
    except ServiceUnavailable:
        return None


def observation(finding: GuardFinding) -> Observation:
    if finding.healthy:
        return Observation(finding.check, OK)
    state = finding.state or _STATE_OF_CHECK.get(finding.check, "failing")
    return Observation(finding.check, state, finding.reason)


class WindowsGuardChecks:
    """Runs every Windows check once per guard interval; reads the Sysmon events going by."""

    def __init__(
        self,
        sensor: WindowsSensor,
        canary_timeout_s: float,
        services: ServiceApi | None = None,
        amsi: Callable[[], list[GuardFinding]] | None = None,
        recovery: Callable[[], list[tuple[int, int]] | None] | None = None,
        canary: Callable[[str], None] | None = None,
    ) -> None:
        """Each OS-facing part defaults to this module's function, looked up at each call."""
        self.sensor = sensor
        self.services = services or ServiceApi()
        self.amsi = amsi or (lambda: check_amsi())
        self.recovery = recovery or (lambda: _recovery())
        self.canary = canary or (lambda marker: run_canary(marker))
        self.canary_timeout_s = canary_timeout_s
        self.watch = SysmonWatch()
        self.canaries_sent = 0
        self._canary_blind = False
        self._etw_lost = 0

    def consume(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Let the Sysmon watch see every event; the canary's own process event is dropped."""
        out = []
        marker = self.watch.canary_marker
        for event in events:
            self.watch.observe(event)
            raw = event.get("unmapped")
            if marker and isinstance(raw, dict) and marker in str(raw.get("CommandLine", "")):
                continue
            out.append(event)
        return out

    def observations(self) -> list[Observation]:
        found = sysmon_service(self.services)
        found.extend(self._sysmon_events())
        if self.sensor.etw_live:
            alive, lost = self.sensor.etw.query()
            found.append(etw_health(alive, self._etw_lost, lost))
            self._etw_lost = max(self._etw_lost, lost)
        found.extend(self.amsi())
        actions = self.recovery()
        if actions is not None:  # None: not running as a service, nothing to check
            found.append(recovery_configured(actions))
        return [observation(f) for f in found]

    def _sysmon_events(self) -> list[GuardFinding]:
        """Sysmon's errors and stop, and the canary: blind from its deadline until one is seen."""
        seen_before = self.watch.canary_seen
        out = []
        for f in self.watch.findings():
            if f.check == "sysmon.canary":
                self._canary_blind = (self._canary_blind or not f.healthy) and not seen_before
                f = GuardFinding(
                    f.check,
                    not self._canary_blind,
                    "the canary process was not reported by Sysmon" if self._canary_blind else "",
                )
            out.append(f)
        overdue = self.watch.clock() > self.watch.canary_deadline
        if seen_before or overdue:
            try:
                self.watch.start_canary(self.canary, self.canary_timeout_s)
                self.canaries_sent += 1
            except OSError as exc:
                log.warning("guard: cannot start the canary process: %s", exc)
        return out
