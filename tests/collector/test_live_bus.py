"""An alert committed by a real collector's ingest reaches a console SSE subscriber through the
bus: gRPC/mTLS stream in, batch reader process, detection stage, SQLite commit, AlertRaised on
the collector's bus, and /api/v1/stream over HTTPS out, all in one collector process."""

from __future__ import annotations

import json
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from client import Stream, enroll, make_event

from aurora.api.server import start_api
from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from conftest import addr

RULE = """
title: Test evil binary
id: 5b0f6c1e-6c55-4a43-9d0e-3f1f4a7a0001
status: test
level: high
logsource: {product: linux, category: process_creation}
detection:
  sel: {Image|endswith: '/evil'}
  condition: sel
"""


def _read(client: httpx.Client, out: list[tuple[str, Any]], ready: threading.Event) -> None:
    with client.stream("GET", "/api/v1/stream", timeout=20) as resp:
        assert resp.status_code == 200
        ready.set()
        kind = ""
        for line in resp.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                out.append((kind, json.loads(line[6:])))
                if kind == "alert":
                    return


def test_an_alert_from_ingest_reaches_the_console_stream(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "evil.yml").write_text(RULE)
    state = tmp_path / "c"
    config = AuroraConfig.model_validate(
        {
            "collector": {"state_dir": str(state), "listen": "127.0.0.1:0"},
            "detection": {"enabled": True, "rule_dirs": [str(rules)]},
            "api": {"listen": "127.0.0.1:0"},
        }
    )
    c = Collector(config)
    c.start()
    assert c.store is not None and c.ca is not None and c.detection is not None
    api, password = start_api(c.store, config, state, engine=c.detection.engine, bus=c.bus)
    assert password is not None
    ctx = ssl.create_default_context(cafile=str(state / "pki" / "ca.crt"))
    browser = httpx.Client(base_url=api.url, verify=ctx, timeout=20)
    sensor: Stream | None = None
    try:
        login = browser.post("/api/v1/login", json={"name": "admin", "password": password})
        assert login.status_code == 200, login.text
        got: list[tuple[str, Any]] = []
        ready = threading.Event()
        reader = threading.Thread(target=_read, args=(browser, got, ready), daemon=True)
        reader.start()
        assert ready.wait(10)
        ident = enroll(addr(c), create_token(c.store, 60, 1).token, c.ca.cert_pem)
        sensor = Stream(addr(c), ident)
        sensor.hello()
        time.sleep(0.5)  # the stream subscribes right after its headers; give it that moment
        evil = make_event(1)
        evil["process"]["file"]["path"] = "/usr/local/bin/evil"
        sent = time.monotonic()
        sensor.batch(1, [make_event(2), evil])
        assert sensor.recv_kind("ack").accepted
        reader.join(15)
        alerts = [d for k, d in got if k == "alert"]
        assert alerts, f"no alert on the stream: {got}"
        assert alerts[0]["rule_uid"] == "5b0f6c1e-6c55-4a43-9d0e-3f1f4a7a0001"
        assert alerts[0]["sensor_id"] == ident.sensor_id
        assert time.monotonic() - sent < 5
        # The sensor's connection was announced on the same bus.
        assert any(k == "host" and d["sensor_id"] == ident.sensor_id for k, d in got)
    finally:
        if sensor is not None:
            sensor.close()
        browser.close()
        api.stop()
        c.stop()
