"""The incident queue and one incident, through the REST API, the console pages and the CLI,
over alerts the real detection stage raised (see incidentseed)."""

from __future__ import annotations

import json

from api.apienv import Env
from api.incidentseed import SENSOR, seed_incidents
from api.test_cli import aurora


def test_queue_lists_open_incidents_highest_score_first(env: Env) -> None:
    ids = seed_incidents(env.store, env.state_dir / "rules")
    r = env.client("viewer").get("/api/v1/incidents")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items[0]["incident_id"] == ids["curl"][0]
    top = items[0]
    assert top["alert_ids"] == [ids["curl"][0], ids["shadow"][0]]
    assert top["hostname"] == "web-2" and top["sensor_id"] == SENSOR
    assert top["techniques"] == ["T1003.008", "T1105"]
    assert top["score"] == 72 and top["status"] == "open"
    assert len(items) == 3
    by_host = env.client("viewer").get("/api/v1/incidents", params={"host": "web-2"})
    assert len(by_host.json()["items"]) == 3
    env.store.set_alert_status(ids["ls"][1], "resolved")
    still_open = env.client("viewer").get("/api/v1/incidents", params={"status": "open"})
    assert ids["ls"][1] not in [i["incident_id"] for i in still_open.json()["items"]]


def test_one_incident_has_its_alerts_tree_and_timeline(env: Env) -> None:
    ids = seed_incidents(env.store, env.state_dir / "rules")
    r = env.client("viewer").get(f"/api/v1/incidents/{ids['curl'][0]}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [a["alert_id"] for a in body["alerts"]] == [ids["curl"][0], ids["shadow"][0]]
    assert [n["name"] for n in body["process_tree"]] == ["systemd", "sshd", "bash", "curl", "cat"]
    assert [row["process"] for row in body["timeline"]] == ["curl", "cat"]


def test_dashboard_counts_incidents_by_status(env: Env) -> None:
    ids = seed_incidents(env.store, env.state_dir / "rules")
    assert env.client("viewer").get("/api/v1/dashboard").json()["incidents"] == {
        "open": 3,
        "resolved": 0,
    }
    env.store.set_alert_status(ids["ls"][0], "resolved")
    assert env.client("viewer").get("/api/v1/dashboard").json()["incidents"] == {
        "open": 2,
        "resolved": 1,
    }


def test_unknown_incident_is_404_and_login_is_needed(env: Env) -> None:
    ids = seed_incidents(env.store, env.state_dir / "rules")
    missing = env.client("viewer").get(f"/api/v1/incidents/{ids['shadow'][0]}")
    assert missing.status_code == 404 and "no incident" in missing.json()["detail"]
    assert env.client().get("/api/v1/incidents").status_code == 401
    bad = env.client("viewer").get("/api/v1/incidents", params={"status": "closed"})
    assert bad.status_code == 422


def test_console_pages_show_the_incident(env: Env) -> None:
    ids = seed_incidents(env.store, env.state_dir / "rules")
    browser, _ = env.browser("viewer")
    queue = browser.get("/incidents")
    assert queue.status_code == 200
    assert f'href="/incidents/{ids["curl"][0]}"' in queue.text
    assert "Test shadow (+1 more rule)" in queue.text
    page = browser.get(f"/incidents/{ids['curl'][0]}")
    assert "cat /etc/shadow" in page.text and "attack.mitre.org/techniques/T1003/008/" in page.text
    missing = browser.get(f"/incidents/{ids['shadow'][0]}")
    assert 'id="incident-missing"' in missing.text


def test_cli_lists_and_shows_incidents(env: Env) -> None:
    ids = seed_incidents(env.store, env.state_dir / "rules")
    state = str(env.state_dir)
    listed = aurora("incidents", "--state-dir", state, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert rows[0]["incident_id"] == ids["curl"][0] and len(rows) == 3
    shown = aurora("incidents", "show", str(ids["curl"][0]), "--state-dir", state)
    assert shown.returncode == 0, shown.stderr
    assert "cat /etc/shadow [alert" in shown.stdout and "score 72" in shown.stdout
    missing = aurora("incidents", "show", "999999", "--state-dir", state)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "no incident has id 999999" in missing.stderr
