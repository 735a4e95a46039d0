"""CSV export of every console list: a header row, one row per item, the list's filters applied,
and cells a spreadsheet would run as a formula defused (CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from api.apienv import Env
from api.dashseed import seed_fleet
from aurora.api.export import safe_cell


def _rows(env: Env, role: str, url: str) -> list[dict[str, str]]:
    r = env.client(role).get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="aurora-')
    return list(csv.DictReader(io.StringIO(r.text)))


def test_alerts_csv_has_one_row_per_alert_and_defuses_formulas(env: Env) -> None:
    seed_fleet(env.store)
    rows = _rows(env, "viewer", "/api/v1/alerts?format=csv")
    assert len(rows) == 5
    assert list(rows[0])[:4] == ["alert_id", "first_seen_ms", "last_seen_ms", "severity"]
    # Titles start with '-': a spreadsheet would evaluate them.
    assert {r["title"] for r in rows} >= {"'-title rule-curl", "'-title rule-shadow"}
    assert rows[0]["first_seen_ms"].endswith("+00:00")
    filtered = _rows(env, "viewer", "/api/v1/alerts?format=csv&status=resolved")
    assert [r["rule_uid"] for r in filtered] == ["rule-ls"]


def test_hosts_csv(env: Env) -> None:
    seed_fleet(env.store)
    rows = _rows(env, "viewer", "/api/v1/hosts?format=csv")
    assert [r["hostname"] for r in rows] == ["db-1", "gone-1", "iso-1", "off-1"]
    db = rows[0]
    assert db["connected"] == "true" and "file not loaded" in db["health_reasons"]


def test_events_csv_defuses_a_formula_in_a_command_line(env: Env) -> None:
    seed_fleet(env.store)
    rows = _rows(env, "viewer", "/api/v1/events?format=csv&process_name=curl")
    assert len(rows) == 1
    assert rows[0]["process_name"] == "curl"
    assert "=cmd|" in rows[0]["event"] and rows[0]["event"].startswith("{")


def test_audit_csv_is_admin_only(env: Env) -> None:
    seed_fleet(env.store)
    env.client("analyst").post("/api/v1/hosts/db-1/actions", json={"action": "triage"})
    assert env.client("viewer").get("/api/v1/audit?format=csv").status_code == 403
    rows = _rows(env, "admin", "/api/v1/audit?format=csv")
    assert rows and rows[0]["actor"] == "analyst"


def test_unknown_format_is_refused_in_one_line(env: Env) -> None:
    r = env.client("viewer").get("/api/v1/alerts?format=xlsx")
    assert r.status_code == 422
    assert "format" in r.json()["detail"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=x", "'\t=x"),
        ("plain", "plain"),
        (None, ""),
        (True, "true"),
        (["T1105", "T1003"], "T1105; T1003"),
        (["=evil"], "'=evil"),
    ],
)
def test_safe_cell(value: object, expected: str) -> None:
    assert safe_cell(value) == expected
