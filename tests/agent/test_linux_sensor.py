"""The agent with the real eBPF sensor: a process started on this host reaches the collector."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora.collector.server import Collector
from aurora.collector.store.base import EventQuery
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.sensor.agent import Agent
from aurora.sensor.enrollment import enroll

from .helpers import REPO, AgentThread, in_process_collector, wait_until

pytestmark = [pytest.mark.root, pytest.mark.kernel]


@pytest.fixture
def linux_sensor_cls() -> type:
    try:
        from aurora.sensor.linux import LinuxSensor
        from aurora.sensor.linux.sensor import OBJECTS_DIR
    except ImportError as exc:
        pytest.skip(f"the Linux sensor is not importable: {exc}")
    if not (Path(OBJECTS_DIR) / "process.bpf.o").exists():
        pytest.skip(f"BPF objects are not built in {OBJECTS_DIR} (run `make bpf`)")
    if os.geteuid() != 0:
        pytest.skip("needs root to load BPF programs")
    return LinuxSensor


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    with in_process_collector(tmp_path / "collector") as c:
        yield c


def test_exec_on_this_host_is_stored_by_the_collector(
    tmp_path: Path, collector: Collector, linux_sensor_cls: type
) -> None:
    assert collector.store is not None
    store = collector.store
    tok = create_token(store, 3600, 1)
    ident = enroll(
        f"127.0.0.1:{collector.port}", tok.token, collector.ca_fingerprint, tmp_path / "s"
    )
    config = AuroraConfig.model_validate(
        {
            "sensor": {
                "state_dir": str(tmp_path / "s"),
                "linux_families": ["process"],
                "heartbeat_interval_s": 0.5,
                "batch_max_delay_ms": 50,
            }
        }
    )
    agent = AgentThread(
        Agent(config, linux_sensor_cls(config.sensor), executor_factory=lambda: None)
    ).start()
    marker = f"aurora-agent-{uuid.uuid4().hex}"

    def seen() -> bool:
        subprocess.run(["/bin/echo", marker], stdout=subprocess.DEVNULL, check=True)
        events = store.search_events(
            EventQuery(sensor_ids=[ident.sensor_id], class_uid=1007, limit=5000)
        )
        return any(marker in str(e.event.get("process", {}).get("cmd_line", "")) for e in events)

    try:
        wait_until(seen, 30, "the exec event at the collector", step=0.5)
        host = store.get_host(ident.sensor_id)
        assert host is not None
        wait_until(
            lambda: any(c.get("name") == "process" and c.get("loaded") for c in
                        (store.get_host(ident.sensor_id) or host).capabilities),
            10,
            "the process capability in a heartbeat",
        )  # fmt: skip
    finally:
        agent.stop()
    assert agent.error is None


def test_aurora_sensor_process_streams_and_stops_on_sigterm(
    tmp_path: Path, collector: Collector, linux_sensor_cls: type
) -> None:
    assert collector.store is not None
    store = collector.store
    tok = create_token(store, 3600, 1)
    ident = enroll(
        f"127.0.0.1:{collector.port}", tok.token, collector.ca_fingerprint, tmp_path / "s"
    )
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO / "src"),
        AURORA__SENSOR__LINUX_FAMILIES='["process"]',
        AURORA__SENSOR__HEARTBEAT_INTERVAL_S="0.5",
        AURORA__SENSOR__BATCH_MAX_DELAY_MS="50",
    )
    env.pop("AURORA_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "aurora", "sensor", "--state-dir", str(tmp_path / "s")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    marker = f"aurora-cli-{uuid.uuid4().hex}"

    def seen() -> bool:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        subprocess.run(["/bin/echo", marker], stdout=subprocess.DEVNULL, check=True)
        events = store.search_events(
            EventQuery(sensor_ids=[ident.sensor_id], class_uid=1007, limit=5000)
        )
        return any(marker in str(e.event.get("process", {}).get("cmd_line", "")) for e in events)

    try:
        wait_until(seen, 60, "the exec event from `aurora sensor`", step=0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            err = proc.stderr.read().decode() if proc.stderr else ""
            if proc.stderr:
                proc.stderr.close()
    assert code == 0, err
    assert "connected to collector" in err
