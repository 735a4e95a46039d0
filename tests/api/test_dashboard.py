"""The dashboard route and page: figures equal what the store holds, any reader may see them."""

from __future__ import annotations

from api.apienv import Env
from api.dashseed import seed_fleet


def test_dashboard_counts_match_the_store(env: Env) -> None:
    seed_fleet(env.store)
    r = env.client("viewer").get("/api/v1/dashboard")
    assert r.status_code == 200, r.text
    dash = r.json()
    # The medium alert is 30 h old: outside the window.
    assert dash["alerts_by_severity"]["critical"] == 1
    assert dash["alerts_by_severity"]["high"] == 2
    assert dash["alerts_by_severity"]["low"] == 1
    assert dash["alerts_by_severity"]["medium"] == 0
    assert len(dash["alerts_by_hour"]) == 24
    assert sum(b["total"] for b in dash["alerts_by_hour"]) == 4
    assert dash["alerts_by_hour"][-1]["by_severity"] == {"critical": 1}
    assert dash["open_alerts"] == {"new": 4, "acknowledged": 0}
    assert dash["hosts"] == {"total": 3, "online": 2, "offline": 1, "isolated": 1}
    assert dash["top_rules"][0] == {
        "rule_uid": "rule-curl",
        "title": "-title rule-curl",
        "alerts": 2,
        "hits": 2,
    }
    tactics = {t["uid"]: t["alerts"] for t in dash["attack"]["tactics"]}
    assert tactics == {"TA0002": 2, "TA0006": 1}
    techniques = {t["uid"]: t["alerts"] for t in dash["attack"]["techniques"]}
    assert techniques == {"T1105": 2, "T1003": 1}
    assert dash["truncated"] is False


def test_dashboard_needs_a_login(env: Env) -> None:
    assert env.client().get("/api/v1/dashboard").status_code == 401


def test_dashboard_page_is_rendered_server_side(env: Env) -> None:
    seed_fleet(env.store)
    c, _ = env.browser("viewer")
    r = c.get("/dashboard")
    assert r.status_code == 200
    html = r.text
    assert '<dd id="hosts-isolated">1</dd>' in html
    assert '<dd id="open-new">4</dd>' in html
    assert 'data-rule="rule-curl"' in html and "T1105" in html
    assert "<script>" not in html  # the CSP allows only the static scripts


def test_dashboard_empty_store(env: Env) -> None:
    dash = env.client("viewer").get("/api/v1/dashboard").json()
    assert dash["top_rules"] == [] and dash["attack"] == {"tactics": [], "techniques": []}
    assert dash["hosts"]["total"] == 0
    c, _ = env.browser("viewer")
    assert "No alerts in this window." in c.get("/dashboard").text
