"""Server-sent events over real HTTPS: new alerts, host state changes and action progress arrive
without polling by the client, whichever process writes the store."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from api.apienv import SENSOR, Env, seed
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
    time.sleep(0.7)  # let the stream take its first snapshot, which is not replayed
    # Another connection to the same file stands for the collector process writing it.
    writer = SQLiteStore(env.state_dir / "aurora.db")
    started = time.monotonic()
    writer.add_alerts([NewAlert("rule-x", SENSOR, "k2", 5, "second alert", 1, {"severity_id": 5})])
    writer.update_host_status(HostStatus(SENSOR, int(time.time() * 1000), isolation="isolated"))
    env.client("analyst").post("/api/v1/hosts/web-1/actions", json={"action": "unisolate"})
    reader.join(10)
    elapsed = time.monotonic() - started
    writer.close()
    kinds = {k: d for k, d in got}
    assert set(kinds) == {"alert", "host", "action"}, got
    assert kinds["alert"]["title"] == "second alert" and kinds["alert"]["severity"] == "critical"
    assert kinds["host"]["isolation"] == "isolated"
    assert kinds["action"]["action"] == "unisolate" and kinds["action"]["state"] == "queued"
    assert elapsed < 5, "live updates should arrive within a couple of poll intervals"


def test_stream_requires_authentication(env: Env) -> None:
    with env.client().stream("GET", "/api/v1/stream") as resp:
        assert resp.status_code == 401
