"""The Windows guard reaches a real collector as the Linux guard does: a real agent (spool,
mTLS transport, heartbeats) runs the Windows sensor whose OS answers are faked at the ctypes
boundary only (the Service Control Manager, ETW, the PowerShell process's memory). Stopping the
Sysmon driver and patching AmsiScanBuffer in a real process named pwsh.exe show up in the
heartbeat's hook health and raise the critical tamper alert in the collector."""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.agent.helpers import wait_until

from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.sensor.agent import Agent
from aurora.sensor.enrollment import enroll
from aurora.sensor.windows import amsi_memory, guard_checks
from aurora.sensor.windows import guard as windows_guard
from aurora.sensor.windows.etw_session import EtwSession
from aurora.sensor.windows.guard import SERVICE_RUNNING
from aurora.sensor.windows.sensor import WindowsSensor

from .real_pe import EXPORT, download_pe
from .test_amsi_memory import AMSI_PATH, FakeKernel32, FakeProcess, mapped
from .test_guard import FakeScm
from .test_guard_checks import StoppableEtw

TITLE = "Hook Detached, Replaced"


@pytest.fixture
def pwsh(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real process whose image is named pwsh.exe, so the guard's process listing finds it."""
    exe = tmp_path / "pwsh.exe"
    shutil.copy("/bin/sleep", exe)
    proc = subprocess.Popen([str(exe), "600"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    cfg = AuroraConfig.model_validate(
        {"collector": {"state_dir": str(tmp_path / "collector"), "listen": "127.0.0.1:0"}}
    )
    c = Collector(cfg)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def test_sysmon_driver_stopped_and_amsi_patched_raise_critical_alerts(
    tmp_path: Path,
    collector: Collector,
    pwsh: subprocess.Popen[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_pe = download_pe(tmp_path / "pe")
    scm = FakeScm({"Sysmon64": SERVICE_RUNNING, "SysmonDrv": SERVICE_RUNNING})
    memory = FakeKernel32({pwsh.pid: FakeProcess(mapped(real_pe))})
    monkeypatch.setattr(windows_guard.advapi32_services, "_dll", scm)
    monkeypatch.setattr(amsi_memory.kernel32_memory, "_dll", memory)
    # amsi.dll is this host's copy of a real PE, and its checked export is the one that PE has.
    monkeypatch.setattr(
        guard_checks,
        "check_amsi",
        functools.partial(
            amsi_memory.check_amsi,
            amsi_memory.ProcessMemory(memory, lambda: memory.error),
            disk_path=lambda loaded: real_pe if str(loaded) == AMSI_PATH else loaded,
            function=EXPORT,
        ),
    )
    launched: list[str] = []
    monkeypatch.setattr(guard_checks, "run_canary", launched.append)

    assert collector.store is not None
    token = create_token(collector.store, 3600, 1).token
    state = tmp_path / "sensor"
    ident = enroll(f"127.0.0.1:{collector.port}", token, collector.ca_fingerprint, state)
    config = AuroraConfig.model_validate(
        {
            "sensor": {
                "state_dir": str(state),
                "heartbeat_interval_s": 0.3,
                "health_interval_s": 0.3,
                "canary_timeout_s": 600,
                "batch_max_delay_ms": 50,
                "spool_fsync": False,
            }
        }
    )
    source = WindowsSensor(state, channels=(), etw=EtwSession(dll=StoppableEtw()))
    agent = Agent(config, source, state_dir=state, executor_factory=lambda: None)
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    try:

        def health() -> dict[str, Any]:
            host = collector.store.get_host(ident.sensor_id)  # type: ignore[union-attr]
            caps = {c.get("name"): c for c in host.capabilities} if host else {}
            return caps.get("hook_health") or {}

        def hooks() -> dict[str, str]:
            return {h["name"]: h["state"] for h in health().get("hooks", [])}

        wait_until(lambda: hooks().get(f"amsi.{pwsh.pid}") == "ok", 30, "a good first check")
        assert hooks()["sysmon.driver"] == "ok" and health()["loaded"] is True
        assert not collector.store.list_alerts(sensor_id=ident.sensor_id)
        assert launched, "the canary was started"

        def alerts() -> list[Any]:
            got = collector.store.list_alerts(sensor_id=ident.sensor_id)  # type: ignore[union-attr]
            return [a for a in got if TITLE in a.title]

        def message() -> str:
            return str(alerts()[0].finding["evidences"][0]["data"]["message"])

        scm.states["SysmonDrv"] = 1  # sc stop SysmonDrv
        wait_until(lambda: bool(alerts()), 30, "the critical tamper alert")
        assert alerts()[0].severity_id == 5 and "T1562" in str(alerts()[0].finding["attacks"])
        assert alerts()[0].finding["device"]["os"]["name"] == "Windows"
        assert message() == "sysmon.driver: detached (SysmonDrv driver not loaded)"
        wait_until(lambda: hooks().get("sysmon.driver") == "detached", 10, "hook health")
        assert health()["loaded"] is False

        # The same sensor's next tamper finding folds into that alert with its evidence.
        memory.procs[pwsh.pid] = FakeProcess(mapped(real_pe, bytes.fromhex("b857000780c3")))
        wait_until(lambda: alerts()[0].count == 2, 30, "the AMSI finding")
        assert message() == (
            f"amsi.{pwsh.pid}: replaced (AmsiScanBuffer is patched in pid {pwsh.pid}: "
            "a known bypass (b857000780c3))"
        )
        wait_until(lambda: hooks().get(f"amsi.{pwsh.pid}") == "replaced", 10, "hook health")
        assert len(alerts()) == 1
    finally:
        agent.stop()
        thread.join(30)
