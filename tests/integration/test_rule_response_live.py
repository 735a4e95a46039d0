"""Rule-driven response end to end: a rule configured to kill fires, and the process dies.

A real collector (mTLS, SQLite, detection) and an agent with the real eBPF LinuxSensor and the
real response executor. A victim process carries a unique marker in its command line; a test rule
matches that marker, so nothing else on the host can be hit. With ``[response] rule_actions``
naming the rule, the collector queues ``kill`` (pid and start time from the launch event), the
sensor kills the victim, and the action is audited as ``rule:<id>``. Without the key the alert is
raised and nothing is queued.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.agent.helpers import AgentThread, wait_until

from aurora.collector.server import Collector
from aurora.collector.store.accounts import AuditQuery, SQLiteAccounts
from aurora.collector.store.base import EventQuery
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.sensor.agent import Agent
from aurora.sensor.enrollment import enroll

pytestmark = [pytest.mark.root, pytest.mark.kernel]

RULE_ID = "0d3e5f7a-9b1c-4d2e-8f60-a1b2c3d4e5f6"


@pytest.fixture
def linux_sensor_cls() -> type:
    import os

    if os.geteuid() != 0:
        pytest.skip("the eBPF sensor needs root")
    from aurora.sensor.linux import LinuxSensor
    from aurora.sensor.linux.sensor import OBJECTS_DIR

    if not (Path(OBJECTS_DIR) / "process.bpf.o").exists():
        res = subprocess.run(["make", "-s", "-C", "bpf"], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    return LinuxSensor


class Setup:
    def __init__(self, collector: Collector, sensor_id: str, marker: str) -> None:
        self.collector = collector
        self.sensor_id = sensor_id
        self.marker = marker

    def alerts(self) -> list[Any]:
        assert self.collector.store is not None
        return [a for a in self.collector.store.list_alerts() if a.rule_uid == RULE_ID]

    def audit(self) -> list[Any]:
        accounts = SQLiteAccounts(self.collector.state_dir / "aurora.db")
        try:
            return accounts.query(AuditQuery(actor=f"rule:{RULE_ID}"))
        finally:
            accounts.close()


@pytest.fixture
def live(
    tmp_path: Path, linux_sensor_cls: type
) -> Iterator[Callable[[dict[str, str] | None], Setup]]:
    started: list[tuple[Collector, AgentThread]] = []

    def _go(rule_actions: dict[str, str] | None) -> Setup:
        marker = f"aurora-rule-victim-{uuid.uuid4().hex}"
        rules = tmp_path / "rules"
        rules.mkdir()
        (rules / "victim.yml").write_text(
            f"title: Test victim started\nid: {RULE_ID}\nstatus: test\n"
            "logsource: {product: linux, category: process_creation}\n"
            f"detection:\n  sel:\n    CommandLine|contains: '{marker}'\n  condition: sel\n"
            "level: high\n"
        )
        cfg: dict[str, Any] = {
            "collector": {"state_dir": str(tmp_path / "collector"), "listen": "127.0.0.1:0"},
            "detection": {"enabled": True, "rule_dirs": [str(rules)]},
        }
        if rule_actions is not None:
            cfg["response"] = {"rule_actions": rule_actions}
        collector = Collector(AuroraConfig.model_validate(cfg))
        collector.start()
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
                    "spool_fsync": False,
                }
            }
        )
        # The default executor factory: the real ResponseExecutor runs the kill.
        agent = AgentThread(Agent(config, linux_sensor_cls(config.sensor))).start()
        started.append((collector, agent))
        warm = f"aurora-warmup-{uuid.uuid4().hex}"

        def streaming() -> bool:
            subprocess.run(["/bin/echo", warm], stdout=subprocess.DEVNULL, check=True)
            events = store.search_events(
                EventQuery(sensor_ids=[ident.sensor_id], class_uid=1007, limit=5000)
            )
            return any(warm in str(e.event.get("process", {}).get("cmd_line")) for e in events)

        wait_until(streaming, 30, "the agent streaming exec events", step=0.3)
        return Setup(collector, ident.sensor_id, marker)

    yield _go
    for collector, agent in started:
        agent.stop()
        collector.stop()
        assert agent.error is None, agent.error


def _victim(marker: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker])


def test_rule_configured_to_kill_kills_the_real_process(
    live: Callable[[dict[str, str] | None], Setup],
) -> None:
    s = live({RULE_ID: "kill"})
    victim = _victim(s.marker)
    try:
        victim.wait(timeout=20)
    except subprocess.TimeoutExpired:
        victim.kill()
        victim.wait()
        raise AssertionError(f"the victim was not killed; commands: {s.audit()}") from None
    assert victim.returncode == -signal.SIGKILL
    store = s.collector.store
    assert store is not None
    [alert] = s.alerts()
    [cmd] = store.list_commands(s.sensor_id)
    assert cmd.action == "kill" and cmd.requested_by == f"rule:{RULE_ID}"
    assert cmd.params["pid"] == victim.pid and cmd.params["start_time"] > 0
    wait_until(
        lambda: (store.get_command(cmd.command_id) or cmd).state == "succeeded",
        10,
        "the kill result",
    )
    done = store.get_command(cmd.command_id)
    assert done is not None and victim.pid in done.result["killed"]
    [entry] = s.audit()
    assert entry.action == "action.kill" and entry.host == s.sensor_id
    assert entry.target == cmd.command_id and entry.result == "queued"
    assert entry.detail["params"]["pid"] == victim.pid
    assert alert.finding["finding_info"]["analytic"]["uid"] == RULE_ID


def test_without_rule_actions_the_rule_alerts_but_nothing_is_killed(
    live: Callable[[dict[str, str] | None], Setup],
) -> None:
    s = live(None)
    victim = _victim(s.marker)
    try:
        wait_until(lambda: bool(s.alerts()), 15, "the alert")
        time.sleep(1.0)  # a queued kill would reach the sensor well within this
        assert victim.poll() is None, "the victim was killed without rule_actions"
        assert s.collector.store is not None
        assert s.collector.store.list_commands(s.sensor_id) == []
        assert s.audit() == []
    finally:
        victim.kill()
        victim.wait()
