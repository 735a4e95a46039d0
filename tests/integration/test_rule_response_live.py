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
from tests.agent.helpers import wait_until
from tests.integration.live_pipeline import LivePipeline, marker_rule

from aurora.collector.store.accounts import AuditQuery, SQLiteAccounts

pytestmark = [pytest.mark.root, pytest.mark.kernel]

RULE_ID = "0d3e5f7a-9b1c-4d2e-8f60-a1b2c3d4e5f6"


class Setup(LivePipeline):
    def __init__(self, tmp_path: Path, rule_actions: dict[str, str] | None) -> None:
        self.marker = f"aurora-rule-victim-{uuid.uuid4().hex}"
        response = {"rule_actions": rule_actions} if rule_actions is not None else {}
        super().__init__(tmp_path, {"victim": marker_rule(RULE_ID, self.marker)}, response)

    def audit(self) -> list[Any]:
        accounts = SQLiteAccounts(self.collector.state_dir / "aurora.db")
        try:
            return accounts.query(AuditQuery(actor=f"rule:{RULE_ID}"))
        finally:
            accounts.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Callable[[dict[str, str] | None], Setup]]:
    started: list[Setup] = []

    def _go(rule_actions: dict[str, str] | None) -> Setup:
        started.append(Setup(tmp_path, rule_actions))
        return started[-1]

    yield _go
    for setup in started:
        setup.stop()


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
    [alert] = s.alerts(RULE_ID)
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
        wait_until(lambda: bool(s.alerts(RULE_ID)), 15, "the alert")
        time.sleep(1.0)  # a queued kill would reach the sensor well within this
        assert victim.poll() is None, "the victim was killed without rule_actions"
        assert s.collector.store is not None
        assert s.collector.store.list_commands(s.sensor_id) == []
        assert s.audit() == []
    finally:
        victim.kill()
        victim.wait()
