"""Server-side sorting of the alert and host tables, and the explanation GET /api/v1/alerts/{id}
carries for the alert page (what the caller may do depends on the role)."""

from __future__ import annotations

from typing import Any

from api.apienv import SENSOR, Env, seed
from aurora.collector.store.base import HostRecord, NewAlert


def add_alerts(env: Env, t0: int) -> None:
    finding: dict[str, Any] = {"evidences": [{"process": {"pid": 100, "name": "sshd"}}]}
    env.store.add_alerts(
        [
            NewAlert("rule-low", SENSOR, "k2", 2, "b low alert", t0 + 10, finding),
            NewAlert("rule-crit", SENSOR, "k3", 5, "a critical alert", t0 + 20, {}),
        ]
    )


def test_alerts_sort_by_any_column_both_ways(env: Env) -> None:
    s = seed(env)
    add_alerts(env, s["t0"])
    viewer = env.client("viewer")

    def order(**params: Any) -> list[int]:
        return [
            a["severity_id"] for a in viewer.get("/api/v1/alerts", params=params).json()["items"]
        ]

    assert order(sort="severity", order="desc") == [5, 4, 2]
    assert order(sort="severity", order="asc") == [2, 4, 5]
    assert order(sort="title", order="asc") == [5, 2, 4]  # a…, b…, curl…
    page = viewer.get("/api/v1/alerts", params={"sort": "severity", "order": "asc", "limit": 2})
    assert [a["severity_id"] for a in page.json()["items"]] == [2, 4]
    assert page.json()["next_offset"] == 2
    bad = viewer.get("/api/v1/alerts", params={"sort": "nonsense"})
    assert bad.status_code == 422 and "severity" in bad.text
    assert viewer.get("/api/v1/alerts", params={"sort": "Robert'); DROP"}).status_code == 422
    csv = viewer.get("/api/v1/alerts", params={"sort": "severity", "order": "asc", "format": "csv"})
    assert [line.split(",")[0] for line in csv.text.splitlines()[1:]] == [
        str(a["alert_id"])
        for a in viewer.get("/api/v1/alerts", params={"sort": "severity", "order": "asc"}).json()[
            "items"
        ]
    ]


def test_hosts_sort(env: Env) -> None:
    seed(env)
    env.store.register_host(
        HostRecord(
            sensor_id="s-2",
            hostname="aaa-1",
            os_name="Debian",
            os_version="12",
            enrolled_ms=1,
            last_seen_ms=1,
            connected=False,
            health="ok",
            isolation="none",
        )
    )
    viewer = env.client("viewer")

    def names(**p: str) -> list[str]:
        return [h["hostname"] for h in viewer.get("/api/v1/hosts", params=p).json()["items"]]

    assert names(sort="host", order="asc") == ["aaa-1", "web-1"]
    assert names(sort="last_seen", order="desc") == ["web-1", "aaa-1"]
    assert viewer.get("/api/v1/hosts", params={"sort": "cpu"}).status_code == 422


def test_alert_explanation_and_actions_by_role(env: Env) -> None:
    s = seed(env)
    add_alerts(env, s["t0"])
    alert = env.client("analyst").get(f"/api/v1/alerts/{s['alert_id']}").json()
    x = alert["explanation"]
    assert x["rule"]["id"] == "rule-curl" and x["rule"]["loaded"] is False
    assert x["rule"]["title"] == "curl piped to shell"
    assert x["attacks"][0]["url"] == "https://attack.mitre.org/techniques/T1105/"
    # the low alert's process (sshd, pid 100) is an ancestor of curl: related; the other is not
    assert [r["title"] for r in x["related"]] == ["b low alert"]
    acts = {a["action"]: a for a in x["actions"]}
    assert acts["kill"]["params"] == {"pid": 300, "tree": False}
    assert "isolate" in acts and "unisolate" not in acts and "tune" not in acts
    viewer = env.client("viewer").get(f"/api/v1/alerts/{s['alert_id']}").json()
    assert viewer["explanation"]["actions"] == []
    admin = env.client("admin").get(f"/api/v1/alerts/{s['alert_id']}").json()
    assert "tune" in {a["action"] for a in admin["explanation"]["actions"]}
