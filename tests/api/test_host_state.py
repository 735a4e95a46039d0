"""The host record explains its health and offers only the isolation action that applies."""

from __future__ import annotations

from api.apienv import Env
from api.dashseed import FAILED_REASON, seed_fleet
from aurora.api.host_state import isolation_actions
from aurora.collector.store.base import HostRecord


def test_host_says_why_it_is_degraded(env: Env) -> None:
    seed_fleet(env.store)
    h = env.client("viewer").get("/api/v1/hosts/db-1").json()
    assert h["failed_capabilities"] == [{"name": "file", "reason": FAILED_REASON}]
    assert f"file not loaded: {FAILED_REASON}" in h["health_reasons"]
    assert "spool 90% full (900 of 1000 bytes)" in h["health_reasons"]


def test_only_the_isolation_action_that_applies(env: Env) -> None:
    seed_fleet(env.store)
    c = env.client("analyst")
    assert c.get("/api/v1/hosts/db-1").json()["isolation_actions"] == ["isolate"]
    assert c.get("/api/v1/hosts/iso-1").json()["isolation_actions"] == ["unisolate"]
    assert c.get("/api/v1/hosts/gone-1").json()["isolation_actions"] == []
    listed = {h["hostname"]: h["isolation_actions"] for h in c.get("/api/v1/hosts").json()["items"]}
    assert listed["off-1"] == ["isolate"] and listed["iso-1"] == ["unisolate"]


def test_pending_isolate_shows_as_isolating(env: Env) -> None:
    seed_fleet(env.store)
    c = env.client("analyst")
    r = c.post("/api/v1/hosts/db-1/actions", json={"action": "isolate", "params": {}})
    assert r.status_code in (200, 201, 202), r.text
    h = c.get("/api/v1/hosts/db-1").json()
    assert h["isolation"] == "isolating"
    assert h["isolation_actions"] == ["unisolate"]
    # The API itself is unchanged: asking again is still accepted (idempotent).
    again = c.post("/api/v1/hosts/db-1/actions", json={"action": "isolate", "params": {}})
    assert again.status_code in (200, 201, 202), again.text


def test_isolation_action_per_reported_state() -> None:
    def actions(isolation: str, pending: bool = False, revoked: bool = False) -> list[str]:
        return isolation_actions(HostRecord("s", isolation=isolation, revoked=revoked), pending)

    assert actions("none") == ["isolate"]
    assert actions("unknown") == ["isolate"]
    assert actions("failed") == ["isolate"]  # the rules vanished: isolating again applies
    assert actions("isolated") == ["unisolate"]
    assert actions("none", pending=True) == ["unisolate"]
    assert actions("isolated", revoked=True) == []
