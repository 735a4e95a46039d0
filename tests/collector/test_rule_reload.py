"""Rules take effect without a restart: a real collector (gRPC/mTLS ingest, batch reader process,
SQLite) and its console API over HTTPS; a rule uploaded, disabled and enabled again through the
API changes what the next batch raises, and events sent while rules reload are stored once and
matched once."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from client import Stream, enroll, make_event

from aurora.api.server import ApiServer, start_api
from aurora.collector.bus import AlertRaised, Message
from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from conftest import addr

RULE_ID = "5b0f6c1e-6c55-4a43-9d0e-3f1f4a7a0d17"
RULE = f"""
title: Test reloaded rule
id: {RULE_ID}
status: test
level: high
logsource: {{product: linux, category: process_creation}}
detection:
  sel: {{Image|endswith: '/reloaded-evil'}}
  condition: sel
"""


class Live:
    """A collector with detection, its console API, a logged-in browser and an enrolled sensor;
    ``alerts`` collects every match announced on the collector's bus."""

    def __init__(self, tmp_path: Path, rule_dirs: list[str]) -> None:
        state = tmp_path / "c"
        config = AuroraConfig.model_validate(
            {
                "collector": {"state_dir": str(state), "listen": "127.0.0.1:0"},
                "detection": {"enabled": True, "rule_dirs": rule_dirs},
                "api": {"listen": "127.0.0.1:0"},
            }
        )
        self.collector = Collector(config)
        self.collector.start()
        c = self.collector
        assert c.store is not None and c.ca is not None and c.detection is not None
        self.alerts: list[AlertRaised] = []
        c.bus.subscribe([AlertRaised], self._heard)
        api, password = start_api(
            c.store, config, state, engine=c.detection.live_engine(), bus=c.bus
        )
        self.api: ApiServer = api
        ctx = ssl.create_default_context(cafile=str(state / "pki" / "ca.crt"))
        self.browser = httpx.Client(base_url=api.url, verify=ctx, timeout=20)
        login = self.browser.post("/api/v1/login", json={"name": "admin", "password": password})
        assert login.status_code == 200, login.text
        self.browser.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        ident = enroll(addr(c), create_token(c.store, 60, 1).token, c.ca.cert_pem)
        self.sensor_id = ident.sensor_id
        self.sensor = Stream(addr(c), ident)
        self.sensor.hello()
        self.seq = 0

    def _heard(self, message: Message) -> None:
        # Only the test rule's matches: the built-in pack is loaded too.
        if isinstance(message, AlertRaised) and message.rule_uid == RULE_ID:
            self.alerts.append(message)

    def send(self, *paths: str, wait: bool = True) -> list[int]:
        """One batch with an event per executable path (acked, unless ``wait`` is False);
        returns their pids."""
        events = []
        for path in paths:
            self.seq += 1
            ev = make_event(self.seq)
            ev["process"]["file"]["path"] = path
            events.append(ev)
        self.sensor.batch(self.seq - len(paths) + 1, events)
        if wait:
            assert self.sensor.recv_kind("ack").accepted
        return [int(e["process"]["pid"]) for e in events]

    def settle(self) -> None:
        assert self.collector.bus.drain(30)

    def matched_pids(self, count: int) -> list[int]:
        """The pids of the test rule's matches once there are ``count`` (a batch is acked
        before its matches are announced), then a moment more for any extra one."""
        deadline = time.monotonic() + 20
        while len(self.alerts) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        self.settle()
        time.sleep(0.2)
        self.settle()
        return [int(a.evidence["process"]["pid"]) for a in self.alerts]

    def close(self) -> None:
        self.sensor.close()
        self.browser.close()
        self.api.stop()
        self.collector.stop()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    env = Live(tmp_path, [])
    try:
        yield env
    finally:
        env.close()


def _rule_listed(live: Live) -> dict[str, Any]:
    r = live.browser.get(f"/api/v1/rules/{RULE_ID}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_an_uploaded_rule_alerts_at_once_and_a_disabled_one_stops(live: Live) -> None:
    live.send("/opt/app/reloaded-evil")
    live.settle()
    assert live.alerts == []  # not a rule yet

    r = live.browser.post("/api/v1/rules", json={"yaml": RULE})
    assert r.status_code == 201, r.text
    live.settle()  # the collector heard RulesChanged and reloaded
    assert live.collector.detection is not None
    assert RULE_ID in live.collector.detection.engine.rules_by_id
    assert "pending_reload" not in _rule_listed(live)

    [pid] = live.send("/opt/app/reloaded-evil")
    assert live.matched_pids(1) == [pid]
    assert live.collector.store is not None
    stored = live.collector.store.list_alerts(sensor_id=live.sensor_id)
    assert [a.rule_uid for a in stored if a.rule_uid == RULE_ID] == [RULE_ID]

    r = live.browser.put(f"/api/v1/rules/{RULE_ID}/enabled", json={"enabled": False})
    assert r.status_code == 200, r.text
    live.settle()
    assert _rule_listed(live)["enabled"] is False
    live.send("/opt/app/reloaded-evil")
    assert live.matched_pids(1) == [pid]  # disabled: no new match

    r = live.browser.put(f"/api/v1/rules/{RULE_ID}/enabled", json={"enabled": True})
    assert r.status_code == 200, r.text
    live.settle()
    [again] = live.send("/opt/app/reloaded-evil")
    assert live.matched_pids(2) == [pid, again]


def test_a_rule_that_fails_to_load_keeps_the_previous_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "good.yml").write_text(RULE)
    env = Live(tmp_path, [str(rules)])
    try:
        assert env.collector.detection is not None
        before = env.collector.detection.engine
        (rules / "broken.yml").write_text("title: broken\nid: x\ndetection: {condition: nope}\n")
        env.collector.reload_rules("test")
        env.settle()
        assert env.collector.detection.engine is before
        [pid] = env.send("/opt/app/reloaded-evil")
        assert env.matched_pids(1) == [pid]
    finally:
        env.close()


def test_events_sent_during_reloads_are_stored_once_and_matched_once(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "evil.yml").write_text(RULE)
    env = Live(tmp_path, [str(rules)])
    sent: list[int] = []
    done = threading.Event()

    def reload_repeatedly() -> None:
        for n in range(4):
            env.collector.reload_rules(f"test reload {n}")
            env.settle()
        done.set()

    try:
        reloader = threading.Thread(target=reload_repeatedly, daemon=True)
        reloader.start()
        while not done.is_set() or len(sent) < 40:
            # Several batches in flight at once; every other event matches.
            for _ in range(5):
                sent.append(env.send("/opt/app/reloaded-evil", "/usr/bin/true", wait=False)[0])
            for _ in range(5):
                assert env.sensor.recv_kind("ack").accepted
        reloader.join(60)
        env.settle()
        assert env.collector.detection is not None
        assert env.collector.detection.rules.current[0] == 4  # four reloads happened
        assert env.collector.store is not None
        assert env.collector.store.count_events(env.sensor_id) == 2 * len(sent)
        assert sorted(env.matched_pids(len(sent))) == sorted(sent)
    finally:
        env.close()
