"""A real collector (mTLS, SQLite, detection with the built-in rules) in this process and a real
``aurora sensor`` (eBPF) in a child process, so a test can attack it as a root attacker would:
overwrite its maps, close its links with a debugger, signal it, kill it and start it again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.agent.helpers import REPO, wait_until
from tests.response.conftest import topology  # noqa: F401  (network namespaces, for isolation)

from aurora.collector.server import Collector
from aurora.collector.store.base import AlertRecord
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.sensor.enrollment import enroll
from aurora.sensor.linux.sensor import OBJECTS_DIR

HEALTH_INTERVAL_S = 1.0


class LiveSensor:
    def __init__(self, tmp: Path, collector: Collector, sensor_id: str) -> None:
        self.tmp = tmp
        self.collector = collector
        self.sensor_id = sensor_id
        self.state_dir = tmp / "sensor"
        self.watched = tmp / "watched"
        self.watched.mkdir(exist_ok=True)
        self.config = tmp / "aurora.toml"
        self.config.write_text(
            "[sensor]\n"
            f'state_dir = "{self.state_dir}"\n'
            'linux_families = ["process", "file"]\n'
            f'watch_paths = ["{self.watched}"]\n'
            "watch_exec_paths = []\n"
            "heartbeat_interval_s = 0.5\n"
            f"health_interval_s = {HEALTH_INTERVAL_S}\n"
            "canary_timeout_s = 0.5\n"
            "batch_max_delay_ms = 50\n"
            "spool_fsync = false\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tmp / "sensor.log"

    def start(self, cgroup_procs: Path | None = None) -> LiveSensor:
        """Start the sensor (inside the cgroup whose ``cgroup.procs`` is given, from its first
        instruction, so all its memory is charged there) and wait for its first good check."""
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))

        def join_cgroup() -> None:
            if cgroup_procs is not None:
                cgroup_procs.write_text(str(os.getpid()))

        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "aurora", "--config", str(self.config), "sensor"],
                stdout=log,
                stderr=log,
                env=env,
                preexec_fn=join_cgroup if cgroup_procs is not None else None,
            )
        wait_until(self.guard_ok, 60, f"the sensor's first good check ({self.log})", step=0.2)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def host(self) -> Any:
        assert self.collector.store is not None
        return self.collector.store.get_host(self.sensor_id)

    def guard_ok(self) -> bool:
        host = self.host()
        caps = {c.get("name"): c for c in host.capabilities} if host else {}
        return bool(host and host.connected and caps.get("guard/hooks", {}).get("loaded"))

    def alerts(self, title_part: str) -> list[AlertRecord]:
        assert self.collector.store is not None
        return [
            a
            for a in self.collector.store.list_alerts(sensor_id=self.sensor_id)
            if title_part in a.title
        ]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def live_sensor(tmp_path: Path) -> Iterator[LiveSensor]:
    if os.geteuid() != 0:
        pytest.skip("the eBPF sensor needs root")
    if not (OBJECTS_DIR / "guard.bpf.o").exists():
        res = subprocess.run(["make", "-s", "-C", "bpf"], capture_output=True, text=True, cwd=REPO)
        assert res.returncode == 0, res.stderr
    cfg = AuroraConfig.model_validate(
        {
            "collector": {
                "state_dir": str(tmp_path / "collector"),
                "listen": "127.0.0.1:0",
                "sensor_silence_heartbeats": 3,
            }
        }
    )
    collector = Collector(cfg)
    collector.start()
    assert collector.store is not None
    tok = create_token(collector.store, 3600, 1)
    ident = enroll(
        f"127.0.0.1:{collector.port}", tok.token, collector.ca_fingerprint, tmp_path / "sensor"
    )
    sensor = LiveSensor(tmp_path, collector, ident.sensor_id)
    try:
        yield sensor
    finally:
        sensor.stop()
        collector.stop()


def wait_alert(sensor: LiveSensor, title_part: str, timeout: float) -> AlertRecord:
    start = time.monotonic()
    wait_until(lambda: bool(sensor.alerts(title_part)), timeout, f"alert {title_part!r}", 0.1)
    alert = sensor.alerts(title_part)[0]
    alert.finding.setdefault("unmapped", {})["waited_s"] = time.monotonic() - start
    return alert
