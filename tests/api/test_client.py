"""The httpx client the CLI uses against a remote collector: paging, filters, errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from api.apienv import SENSOR, Env, seed
from aurora.api.client import ApiClient, ApiClientError
from aurora.collector.store.base import IncomingBatch


def _client(env: Env, role: str = "viewer") -> ApiClient:
    return ApiClient(env.server.url, env.tokens[role], ca_cert=env.state_dir / "pki" / "ca.crt")


def test_lists_follow_pages_and_filters(env: Env) -> None:
    data = seed(env)
    now = int(time.time() * 1000)
    extra = [
        {"class_uid": 1001, "time": now + i, "device": {"hostname": "web-1"}} for i in range(1200)
    ]
    env.store.ingest([IncomingBatch(SENSOR, 7, extra, received_ms=now)])
    with _client(env) as client:
        assert [h["hostname"] for h in client.hosts()] == ["web-1"]
        events = client.events(limit=1100)
        assert len(events) == 1100 and len({e["id"] for e in events}) == 1100
        assert len(client.events(limit=5000)) == 1206
        assert len(client.events(limit=5000, class_uid=1007, host="web-1")) == 5
        [alert] = client.alerts(status="new")
        assert alert["alert_id"] == data["alert_id"]
        assert alert["finding"]["class_uid"] == 2004  # --json prints the Detection Finding
        assert client.alerts(status="resolved") == []


def test_errors_are_one_line(env: Env, tmp_path: Path) -> None:
    seed(env)
    with _client(env) as client, pytest.raises(ApiClientError, match="404: no enrolled sensor"):
        client.events(host="ghost")
    with _client(env) as client, pytest.raises(ApiClientError, match="403: role 'viewer'"):
        client.request_action("web-1", "isolate", {})
    with pytest.raises(ApiClientError, match="does not exist"):
        ApiClient(env.server.url, "t", ca_cert=tmp_path / "missing.crt")
    with pytest.raises(ApiClientError, match="--token is required"):
        ApiClient(env.server.url, "")
    # Without the collector CA the certificate does not verify: refused, not ignored.
    with (
        ApiClient(env.server.url, env.tokens["viewer"]) as untrusted,
        pytest.raises(ApiClientError, match="cannot reach"),
    ):
        untrusted.hosts()
