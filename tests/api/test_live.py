"""Server-sent events over real HTTPS: new alerts, host state changes and action progress arrive
without polling, as the bus announces them (tests/collector/test_live_bus.py drives the same
stream from a real collector's ingest)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from api.apienv import SENSOR, Env, seed
from aurora.collector.bus import AlertRaised, HostChanged
from aurora.collector.store.base import HostStatus, NewAlert
from aurora.collector.store.sqlite import SQLiteStore


def _read_events(env: Env, want: int, out: list[tuple[str, Any]], ready: threading.Event) -> None:
    with env.client("viewer").stream("GET", "/api/v1/stream", timeout=10) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        ready.set()
        kind = ""
        for line in resp.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                out.append((kind, json.loads(line[6:])))
                if len(out) >= want:
                    return


def test_stream_pushes_alerts_hosts_and_actions(env: Env) -> None:
    seed(env)
    got: list[tuple[str, Any]] = []
    ready = threading.Event()
    reader = threading.Thread(target=_read_events, args=(env, 3, got, ready), daemon=True)
    reader.start()
    assert ready.wait(10)
    time.sleep(0.7)  # let the stream subscribe; what came before is not replayed
    # Another connection to the same file stands for the collector's ingest writer and stream
    # service, which publish what they commit on the bus the console subscribes to.
    writer = SQLiteStore(env.state_dir / "aurora.db")
    bus = env.app.state.aurora.bus
    started = time.monotonic()
    writer.add_alerts([NewAlert("rule-x", SENSOR, "k2", 5, "second alert", 1, {"severity_id": 5})])
    bus.publish(AlertRaised(SENSOR, "rule-x", "k2", 5, "second alert", 1))
    writer.update_host_status(HostStatus(SENSOR, int(time.time() * 1000), isolation="isolated"))
    bus.publish(HostChanged(SENSOR))
    env.client("analyst").post("/api/v1/hosts/web-1/actions", json={"action": "unisolate"})
    reader.join(10)
    elapsed = time.monotonic() - started
    writer.close()
    kinds = {k: d for k, d in got}
    assert set(kinds) == {"alert", "host", "action"}, got
    assert kinds["alert"]["title"] == "second alert" and kinds["alert"]["severity"] == "critical"
    assert kinds["host"]["isolation"] == "isolated"
    assert kinds["action"]["action"] == "unisolate" and kinds["action"]["state"] == "queued"
    assert elapsed < 5, "live updates should arrive at once"


def test_suppressed_repeats_and_unchanged_hosts_send_nothing(env: Env) -> None:
    seed(env)
    got: list[tuple[str, Any]] = []
    ready = threading.Event()
    reader = threading.Thread(target=_read_events, args=(env, 2, got, ready), daemon=True)
    reader.start()
    assert ready.wait(10)
    time.sleep(0.7)
    bus = env.app.state.aurora.bus
    # A repeat folded into a stored alert is no new alert, even with a new one in the store.
    env.store.add_alerts([NewAlert("rule-x", SENSOR, "k3", 5, "unseen", 1, {"severity_id": 5})])
    bus.publish(AlertRaised(SENSOR, "rule-x", "k2", 5, "again", 1, suppressed=True))
    # The first host message shows the host; a second with nothing changed sends nothing.
    bus.publish(HostChanged(SENSOR))
    bus.publish(HostChanged(SENSOR))
    deadline = time.monotonic() + 10
    while not got:  # the stream reads the store when it handles a message, so wait for it
        assert time.monotonic() < deadline, "no host event"
        time.sleep(0.01)
    env.store.update_host_status(HostStatus(SENSOR, int(time.time() * 1000), health="degraded"))
    bus.publish(HostChanged(SENSOR))
    reader.join(10)
    assert [k for k, _ in got] == ["host", "host"], got
    assert got[-1][1]["health"] == "degraded"


def test_stream_requires_authentication(env: Env) -> None:
    with env.client().stream("GET", "/api/v1/stream") as resp:
        assert resp.status_code == 401
