"""Rule-driven response at the collector: a finding of a configured rule queues an audited action.

A real collector (gRPC over mTLS, SQLite) with a rule directory; a test sensor streams events.
The kernel test with the real sensor and a real process killed lives in
tests/integration/test_rule_response_live.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from client import Stream, enroll, make_event

from aurora.collector.rule_actions import action_params, target_process
from aurora.collector.server import Collector
from aurora.collector.store.accounts import AuditQuery, SQLiteAccounts
from aurora.collector.store.base import CommandRecord
from aurora.collector.tokens import create_token
from aurora.config import load_config
from aurora.errors import ConfigError
from conftest import addr, make_config

RULE_ID = "7c1d9a52-2f0e-4b8e-9a57-1e0c5d9b0a01"
RULE = f"""
title: Test payload started
id: {RULE_ID}
status: test
logsource: {{product: linux, category: process_creation}}
detection:
  sel:
    Image|endswith: '/payload'
  condition: sel
level: high
"""


def _start(tmp_path: Path, rule_actions: dict[str, str] | None) -> Collector:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "payload.yml").write_text(RULE)
    cfg = make_config(tmp_path / "c", detection=True)
    response: dict[str, Any] = {}
    if rule_actions is not None:
        response["rule_actions"] = rule_actions
    cfg = cfg.model_copy(
        update={
            "detection": cfg.detection.model_copy(update={"rule_dirs": [rules]}),
            "response": cfg.response.model_copy(update=response),
        }
    )
    c = Collector(cfg)
    c.start()
    return c


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[dict[str, str] | None], Collector]]:
    started: list[Collector] = []

    def _go(rule_actions: dict[str, str] | None) -> Collector:
        started.append(_start(tmp_path, rule_actions))
        return started[-1]

    yield _go
    for c in started:
        c.stop()


def _payload(seq: int, pid: int, *, created: int = 1_763_700_000_000) -> dict[str, Any]:
    ev = make_event(seq)
    ev["process"].update(
        pid=pid,
        created_time=created,
        file={"path": f"/opt/x{pid}/payload", "name": "payload"},
        cmd_line="payload",
    )
    return ev


def _wait(cond: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


def _connect(c: Collector) -> tuple[Stream, str]:
    assert c.store is not None and c.ca is not None
    ident = enroll(addr(c), create_token(c.store, 60, 1).token, c.ca.cert_pem)
    s = Stream(addr(c), ident)
    s.hello()
    return s, ident.sensor_id


def _commands(c: Collector, sensor_id: str) -> list[CommandRecord]:
    assert c.store is not None
    return sorted(c.store.list_commands(sensor_id), key=lambda r: r.created_ms)


def _audit(c: Collector) -> list[Any]:
    accounts = SQLiteAccounts(c.state_dir / "aurora.db")
    try:
        return accounts.query(AuditQuery(actor=f"rule:{RULE_ID}"))
    finally:
        accounts.close()


def test_kill_rule_queues_an_audited_kill_for_each_matching_process(
    start: Callable[[dict[str, str] | None], Collector],
) -> None:
    c = start({RULE_ID: "kill"})
    s, sid = _connect(c)
    try:
        s.batch(1, [make_event(1), _payload(2, 4242)])
        cmd = s.recv_kind("command")  # pushed down the live stream at once
        assert cmd.kill.pid == 4242 and cmd.kill.start_time_unix_ms == 1_763_700_000_000
        assert cmd.requested_by == f"rule:{RULE_ID}"
        [rec] = _commands(c, sid)
        assert rec.action == "kill" and rec.requested_by == f"rule:{RULE_ID}"
        assert rec.params == {"pid": 4242, "start_time": 1_763_700_000_000, "tree": False}
        [entry] = _audit(c)
        assert (entry.action, entry.target, entry.host, entry.result) == (
            "action.kill",
            rec.command_id,
            sid,
            "queued",
        )
        # The same process matching again is not killed twice; another process is, although
        # its alert is only a repeat inside the suppression window.
        s.batch(3, [_payload(3, 4242), _payload(4, 4343)])
        s.recv_kind("command")
        _wait(lambda: len(_commands(c, sid)) == 2, "the second kill")
        time.sleep(0.2)
        assert [r.params["pid"] for r in _commands(c, sid)] == [4242, 4343]
        assert c.store is not None and len(c.store.list_alerts()) == 1
    finally:
        s.close()


def test_isolate_and_quarantine_rules(
    start: Callable[[dict[str, str] | None], Collector],
) -> None:
    c = start({RULE_ID: "isolate"})
    s, sid = _connect(c)
    try:
        s.batch(1, [_payload(1, 500)])
        s.recv_kind("command")
        s.batch(2, [_payload(2, 501)])
        _wait(lambda: c.store is not None and c.store.high_water(sid) == 2, "the second batch")
        time.sleep(0.3)
        # One isolation per host: further matches neither queue nor flood the audit log.
        [rec] = _commands(c, sid)
        assert rec.action == "isolate" and rec.params == {}
        assert [e.result for e in _audit(c)] == ["queued"]
    finally:
        s.close()
        c.stop()
    c2 = start({RULE_ID: "quarantine"})
    s, sid = _connect(c2)
    try:
        s.batch(1, [_payload(1, 600)])
        assert s.recv_kind("command").quarantine.path == "/opt/x600/payload"
    finally:
        s.close()


def test_without_the_config_key_nothing_is_enqueued(
    start: Callable[[dict[str, str] | None], Collector],
) -> None:
    c = start(None)
    assert c.detection is not None and c.responder is None
    s, sid = _connect(c)
    try:
        s.batch(1, [_payload(1, 4242)])
        assert s.recv_kind("ack").accepted
        assert c.store is not None
        _wait(lambda: bool(c.store and c.store.list_alerts()), "the alert")
        time.sleep(0.2)
        assert _commands(c, sid) == []
        assert _audit(c) == []
    finally:
        s.close()


def test_an_event_without_a_pid_is_refused_and_audited(
    start: Callable[[dict[str, str] | None], Collector],
) -> None:
    c = start({RULE_ID: "kill"})
    s, sid = _connect(c)
    try:
        ev = _payload(1, 1)
        del ev["process"]["pid"]
        s.batch(1, [ev])
        assert s.recv_kind("ack").accepted
        _wait(lambda: bool(_audit(c)), "the audit entry")
        [entry] = _audit(c)
        assert entry.result == "refused" and "pid must be an integer" in entry.detail["error"]
        assert _commands(c, sid) == []
    finally:
        s.close()


def test_target_process_and_params_per_event_kind() -> None:
    proc = {"pid": 10, "created_time": 5, "file": {"path": "/tmp/new"}}
    actor = {"pid": 9, "created_time": 4, "file": {"path": "/usr/bin/python3"}}
    launch = {"class_uid": 1007, "activity_id": 1, "process": proc, "actor": {"process": actor}}
    ptrace = {**launch, "activity_id": 3}
    file_ev = {"class_uid": 1001, "activity_id": 1, "actor": {"process": actor}}
    assert target_process(launch) is proc
    assert target_process(ptrace) is actor  # the tracer, not its victim
    assert action_params("kill", file_ev) == {"pid": 9, "start_time": 4}
    assert action_params("quarantine", launch) == {"path": "/tmp/new"}
    assert action_params("isolate", file_ev) == {}
    assert action_params("kill", {"class_uid": 1007}) == {"pid": None}


def test_bad_rule_action_in_configuration_is_a_one_line_error(tmp_path: Path) -> None:
    conf = tmp_path / "aurora.toml"
    conf.write_text(f'[response]\nrule_actions = {{ "{RULE_ID}" = "explode" }}\n')
    with pytest.raises(ConfigError) as err:
        load_config(conf, env={})
    msg = str(err.value)
    assert "rule_actions" in msg and "kill" in msg and "\n" not in msg
    conf.write_text('[response]\nrule_actions = { " " = "kill" }\n')
    with pytest.raises(ConfigError, match="not a rule id"):
        load_config(conf, env={})
