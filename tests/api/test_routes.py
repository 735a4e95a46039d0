"""Behaviour of each resource: hosts, events, alerts, actions, rules, users, audit, pagination,
and 4xx (never 5xx) answers with a message for bad input."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

from api.apienv import SENSOR, Env, seed
from aurora.collector.store.base import HostStatus, UploadRecord

RULE = """
title: Test Netcat Listener
id: 6c1a1d38-0000-4000-8000-00000000abcd
status: test
logsource:
  product: linux
  category: process_creation
detection:
  selection:
    Image|endswith: /nc
    CommandLine|contains: ' -l'
  condition: selection
level: high
tags:
  - attack.execution
"""


@pytest.fixture
def data(env: Env) -> dict[str, Any]:
    return seed(env)


def test_hosts_list_detail_health_capabilities_isolation(env: Env, data: dict[str, Any]) -> None:
    c = env.client("viewer")
    page = c.get("/api/v1/hosts").json()
    assert [h["hostname"] for h in page["items"]] == ["web-1"] and page["next_offset"] is None
    assert c.get("/api/v1/hosts", params={"q": "nomatch"}).json()["items"] == []
    by_name = c.get("/api/v1/hosts/web-1").json()
    assert by_name == c.get(f"/api/v1/hosts/{SENSOR}").json()
    assert by_name["os_name"] == "Debian"
    health = c.get("/api/v1/hosts/web-1/health").json()
    assert health["health"] == "ok" and health["high_water"] == 6
    caps = c.get("/api/v1/hosts/web-1/capabilities").json()["capabilities"]
    assert caps[0]["name"] == "process"
    iso = c.get("/api/v1/hosts/web-1/isolation").json()
    assert iso == {"sensor_id": SENSOR, "isolation": "none", "pending_commands": []}
    missing = c.get("/api/v1/hosts/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_process_tree_and_timeline(env: Env, data: dict[str, Any]) -> None:
    c = env.client("viewer")
    tree = c.get("/api/v1/hosts/web-1/processes/200/tree").json()
    assert tree["found"] and tree["process"]["name"] == "bash"
    assert [a["name"] for a in tree["ancestors"]] == ["sshd", "systemd"]
    assert [k["name"] for k in tree["children"]] == ["curl", "sh"]
    timeline = c.get("/api/v1/hosts/web-1/processes/300/timeline").json()["items"]
    assert [e["class_uid"] for e in timeline] == [1007, 4003]  # oldest first
    unknown = c.get("/api/v1/hosts/web-1/processes/4242/tree").json()
    assert unknown["found"] is False and unknown["ancestors"] == []


def test_event_search_filters_and_pagination(env: Env, data: dict[str, Any]) -> None:
    c = env.client("viewer")
    t0 = data["t0"]
    assert len(c.get("/api/v1/events").json()["items"]) == 6
    launches = c.get("/api/v1/events", params={"class_uid": 1007}).json()["items"]
    assert [e["process_name"] for e in launches] == ["sh", "curl", "bash", "sshd", "systemd"]
    ranged = c.get("/api/v1/events", params={"since_ms": t0 + 1000, "until_ms": t0 + 3000})
    assert [e["pid"] for e in ranged.json()["items"]] == [200, 100]
    assert [e["pid"] for e in c.get("/api/v1/events", params={"pid": 300}).json()["items"]] == [
        300,
        300,
    ]
    named = c.get("/api/v1/events", params={"process_name": "sshd"}).json()["items"]
    assert [e["pid"] for e in named] == [100]
    text = c.get("/api/v1/events", params={"q": "EVIL.example"}).json()["items"]
    assert {e["class_uid"] for e in text} == {1007, 4003}
    p1 = c.get("/api/v1/events", params={"limit": 4}).json()
    p2 = c.get("/api/v1/events", params={"limit": 4, "offset": p1["next_offset"]}).json()
    assert p1["next_offset"] == 4 and p2["next_offset"] is None
    ids = [e["id"] for e in p1["items"] + p2["items"]]
    assert len(ids) == len(set(ids)) == 6
    assert c.get("/api/v1/events", params={"host": "web-1"}).json()["items"]


def test_alert_queue_detail_status_assignment_comments(env: Env, data: dict[str, Any]) -> None:
    alert_id = data["alert_id"]
    viewer, analyst = env.client("viewer"), env.client("analyst")
    queue = viewer.get("/api/v1/alerts", params={"status": "new"}).json()["items"]
    assert [a["alert_id"] for a in queue] == [alert_id]
    assert queue[0]["severity"] == "high" and queue[0]["attacks"] == ["T1105"]
    assert viewer.get("/api/v1/alerts", params={"min_severity": 5}).json()["items"] == []
    assert viewer.get("/api/v1/alerts", params={"q": "curl"}).json()["items"]
    detail = viewer.get(f"/api/v1/alerts/{alert_id}").json()
    assert detail["finding"]["evidences"][0]["process"]["pid"] == 300
    assert [a["name"] for a in detail["process_tree"]["ancestors"]] == ["bash", "sshd", "systemd"]
    r = analyst.patch(
        f"/api/v1/alerts/{alert_id}", json={"status": "acknowledged", "assignee": "analyst"}
    )
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    assert r.json()["assignee"] == "analyst"
    mine = viewer.get("/api/v1/alerts", params={"assignee": "analyst"}).json()["items"]
    assert [a["alert_id"] for a in mine] == [alert_id]
    assert viewer.get("/api/v1/alerts", params={"status": "new"}).json()["items"] == []
    bad_user = analyst.patch(f"/api/v1/alerts/{alert_id}", json={"assignee": "ghost"})
    assert bad_user.status_code == 422 and "ghost" in bad_user.json()["detail"]
    posted = analyst.post(f"/api/v1/alerts/{alert_id}/comments", json={"text": "on it"})
    assert posted.status_code == 201
    comments = viewer.get(f"/api/v1/alerts/{alert_id}/comments").json()["items"]
    assert [(c["author"], c["text"]) for c in comments] == [("analyst", "on it")]
    assert analyst.patch("/api/v1/alerts/999", json={"status": "resolved"}).status_code == 404
    audit = env.client("admin").get("/api/v1/audit").json()["items"]
    assert {"alert.status", "alert.assign", "alert.comment"} <= {a["action"] for a in audit}


def test_response_actions_are_queued_idempotent_and_audited(env: Env, data: dict[str, Any]) -> None:
    c = env.client("analyst")
    first = c.post("/api/v1/hosts/web-1/actions", json={"action": "isolate"})
    assert first.status_code == 202
    cmd = first.json()
    assert cmd["state"] == "queued" and cmd["sensor_id"] == SENSOR and cmd["created"]
    assert (
        cmd["expires_ms"] - cmd["created_ms"]
        == env.app.state.aurora.config.response.command_ttl_s * 1000
    )
    again = c.post("/api/v1/hosts/web-1/actions", json={"action": "isolate"}).json()
    assert again["command_id"] == cmd["command_id"] and not again["created"]
    assert len(env.store.pending_commands(SENSOR, int(time.time() * 1000))) == 1
    # Once the sensor answered, asking again queues a new (harmless) command.
    env.store.update_command(cmd["command_id"], now_ms=int(time.time() * 1000), state="succeeded")
    env.store.update_host_status(HostStatus(SENSOR, int(time.time() * 1000), isolation="isolated"))
    third = c.post("/api/v1/hosts/web-1/actions", json={"action": "isolate"}).json()
    assert third["created"] and third["command_id"] != cmd["command_id"]
    kill = c.post(
        "/api/v1/hosts/web-1/actions",
        json={"action": "kill", "params": {"pid": 300, "tree": True}},
    ).json()
    assert kill["params"] == {"pid": 300, "start_time": 0, "tree": True}
    status = c.get(f"/api/v1/actions/{kill['command_id']}").json()
    assert status["state"] == "queued" and status["upload"] is None
    listed = c.get("/api/v1/actions", params={"host": "web-1"}).json()["items"]
    assert {a["action"] for a in listed} == {"isolate", "kill"}
    audit = env.client("admin").get("/api/v1/audit", params={"host": SENSOR}).json()["items"]
    isolate_entries = [a for a in audit if a["action"] == "action.isolate"]
    assert [a["result"] for a in isolate_entries] == ["queued", "already pending", "queued"]
    assert isolate_entries[-1]["command_state"] == "succeeded"
    assert all(a["actor"] == "analyst" for a in isolate_entries)


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"action": "kill", "params": {}}, 422, "pid"),
        ({"action": "kill", "params": {"pid": 1}}, 422, "pid 1"),
        ({"action": "kill", "params": {"pid": "12"}}, 422, "pid"),
        ({"action": "kill", "params": {"pid": 12, "signal": 9}}, 422, "signal"),
        ({"action": "kill", "params": {"pid": 2**70}}, 422, "pid"),
        ({"action": "kill", "params": {"pid": 12, "start_time": -(2**70)}}, 422, "start_time"),
        ({"action": "quarantine", "params": {"path": "relative/file"}}, 422, "absolute"),
        ({"action": "restore", "params": {"quarantine_id": " "}}, 422, "quarantine_id"),
        ({"action": "triage", "params": {"artifacts": "all"}}, 422, "artifacts"),
        ({"action": "reboot"}, 422, "action"),
        ({}, 422, "action"),
    ],
)
def test_bad_action_requests_are_422(
    env: Env, data: dict[str, Any], body: dict[str, Any], status: int, needle: str
) -> None:
    r = env.client("analyst").post("/api/v1/hosts/web-1/actions", json=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]
    assert env.store.list_commands(SENSOR) == []


def test_action_on_unknown_or_revoked_host(env: Env, data: dict[str, Any]) -> None:
    c = env.client("analyst")
    assert c.post("/api/v1/hosts/ghost/actions", json={"action": "isolate"}).status_code == 404
    env.store.revoke_host(SENSOR, int(time.time() * 1000))
    r = c.post("/api/v1/hosts/web-1/actions", json={"action": "isolate"})
    assert r.status_code == 409 and "revoked" in r.json()["detail"]
    refused = env.client("admin").get("/api/v1/audit", params={"action": "action.isolate"})
    assert "refused" in [a["result"] for a in refused.json()["items"]]


def test_triage_download(env: Env, data: dict[str, Any]) -> None:
    c = env.client("analyst")
    cmd = c.post("/api/v1/hosts/web-1/actions", json={"action": "triage"}).json()
    cid = cmd["command_id"]
    assert c.get(f"/api/v1/actions/{cid}/download").status_code == 404  # not uploaded yet
    uploads = env.state_dir / "uploads"
    uploads.mkdir()
    archive = uploads / f"{cid}.tar.zst"
    payload = b"\x28\xb5\x2f\xfd" + b"x" * 5000
    archive.write_bytes(payload)
    env.store.record_upload(
        UploadRecord(
            cid, SENSOR, str(archive), len(payload), hashlib.sha256(payload).hexdigest(), True, 1
        )
    )
    got = c.get(f"/api/v1/actions/{cid}/download")
    assert got.status_code == 200 and got.content == payload
    assert "attachment" in got.headers["content-disposition"]
    assert c.get(f"/api/v1/actions/{cid}").json()["upload"]["size"] == len(payload)
    # A row pointing outside the state directory is never served.
    env.store.record_upload(UploadRecord(cid, SENSOR, "/etc/passwd", 1, "00", True, 2))
    assert c.get(f"/api/v1/actions/{cid}/download").status_code == 404


def test_rules_upload_validation_toggle(env: Env) -> None:
    admin = env.client("admin")
    bad = admin.post("/api/v1/rules", json={"yaml": "title: x\ndetection: {}\n"})
    assert bad.status_code == 422
    assert bad.json()["detail"]["errors"], "validation errors are listed"
    broken_yaml = admin.post("/api/v1/rules", json={"yaml": "title: [unclosed"})
    assert broken_yaml.status_code == 422
    up = admin.post("/api/v1/rules", json={"yaml": RULE})
    assert up.status_code == 201, up.text
    rid = "6c1a1d38-0000-4000-8000-00000000abcd"
    assert up.json()["ids"] == [rid]
    assert (env.state_dir / "rules" / f"{rid}.yml").read_text() == RULE
    listed = admin.get("/api/v1/rules", params={"q": "netcat"}).json()
    assert [r["id"] for r in listed["items"]] == [rid]
    off = admin.put(f"/api/v1/rules/{rid}/enabled", json={"enabled": False})
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert env.accounts.disabled_rules() == {rid}
    assert admin.get(f"/api/v1/rules/{rid}").json()["enabled"] is False
    disabled = admin.get("/api/v1/rules", params={"enabled": "false"}).json()["items"]
    assert rid in [r["id"] for r in disabled]
    assert admin.put(f"/api/v1/rules/{rid}/enabled", json={"enabled": True}).json()["enabled"]
    assert admin.get("/api/v1/rules/unknown-id").status_code == 404


def test_users_management_guards_last_admin(env: Env) -> None:
    admin = env.client("admin")
    made = admin.post("/api/v1/users", json={"name": "grace", "role": "analyst"})
    assert made.status_code == 201 and len(made.json()["password"]) >= 12
    dup = admin.post("/api/v1/users", json={"name": "GRACE", "role": "viewer"})
    assert dup.status_code == 409
    assert (
        admin.post("/api/v1/users", json={"name": "bad name!", "role": "viewer"}).status_code == 422
    )
    assert admin.post("/api/v1/users", json={"name": "x", "role": "root"}).status_code == 422
    assert admin.patch("/api/v1/users/grace", json={"role": "viewer"}).json()["role"] == "viewer"
    assert {u["name"] for u in admin.get("/api/v1/users").json()["items"]} >= {"grace", "admin"}
    last = admin.patch("/api/v1/users/admin", json={"role": "viewer"})
    assert last.status_code == 409 and "last admin" in last.json()["detail"]
    assert admin.delete("/api/v1/users/admin").status_code == 409
    assert admin.delete("/api/v1/users/grace").status_code == 200
    assert admin.delete("/api/v1/users/grace").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/api/v1/events", {"params": {"limit": 0}}),
        ("GET", "/api/v1/events", {"params": {"limit": 100000}}),
        ("GET", "/api/v1/events", {"params": {"offset": -1}}),
        ("GET", "/api/v1/events", {"params": {"since_ms": "yesterday"}}),
        ("GET", "/api/v1/events", {"params": {"pid": 2**70}}),
        ("GET", "/api/v1/alerts/99999999999999999999999", {}),
        ("GET", "/api/v1/alerts", {"params": {"status": "open"}}),
        (
            "PATCH",
            "/api/v1/alerts/1",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
        ),
        ("POST", "/api/v1/alerts/1/comments", {"json": {"text": ""}}),
        ("POST", "/api/v1/login", {"json": {"name": "x"}}),
        ("GET", "/api/v1/hosts/web-1/processes/-5/tree", {}),
    ],
)
def test_bad_input_is_4xx_with_a_message(
    env: Env, data: dict[str, Any], method: str, path: str, kwargs: dict[str, Any]
) -> None:
    r = env.client("admin").request(method, path, **kwargs)
    assert 400 <= r.status_code < 500, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail


def test_security_headers_and_openapi(env: Env) -> None:
    r = env.client().get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert "/api/v1/alerts" in spec["paths"] and "/alerts" not in spec["paths"]
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_every_list_is_paginated(env: Env, data: dict[str, Any]) -> None:
    spec = env.client().get("/openapi.json").json()
    values = {
        "host": "web-1",
        "pid": "300",
        "alert_id": str(data["alert_id"]),
        "command_id": "0" * 32,
        "rule_id": "x",
        "name": "admin",
        "token_id": "1",
    }
    admin = env.client("admin")
    lists = []
    for path, ops in spec["paths"].items():
        if "get" not in ops or path == "/api/v1/stream":
            continue
        url = path
        for key, value in values.items():
            url = url.replace("{" + key + "}", value)
        resp = admin.get(url)
        if resp.status_code == 200 and "items" in resp.json():
            lists.append(path)
            params = {p["name"] for p in ops["get"].get("parameters", [])}
            assert {"limit", "offset"} <= params, path
            assert "next_offset" in resp.json(), path
    assert len(lists) >= 9, lists


@pytest.mark.parametrize(
    ("action", "params", "field", "expected"),
    [
        ("kill", {"pid": 42, "start_time_unix_ms": 1234, "tree": True}, "kill",
         {"pid": 42, "start_time_unix_ms": 1234, "tree": True}),
        ("quarantine", {"path": "/tmp/x"}, "quarantine", {"path": "/tmp/x"}),
        ("restore", {"quarantine_id": "q-1"}, "restore", {"quarantine_id": "q-1"}),
        ("triage", {"artifacts": ["processes"], "max_bytes": 4096}, "triage",
         {"artifacts": ["processes"], "max_bytes": "4096"}),
        ("isolate", {}, "isolate", {}),
        ("unisolate", {}, "unisolate", {}),
    ],
)  # fmt: skip
def test_queued_params_reach_the_wire_as_requested(
    env: Env,
    data: dict[str, Any],
    action: str,
    params: dict[str, Any],
    field: str,
    expected: dict[str, Any],
) -> None:
    """The stored command, turned into a protobuf by the collector, carries what was asked."""
    from google.protobuf.json_format import MessageToDict

    from aurora.collector.commands import to_message

    cmd = env.client("analyst").post(
        "/api/v1/hosts/web-1/actions", json={"action": action, "params": params}
    )
    assert cmd.status_code == 202, cmd.text
    record = env.store.get_command(cmd.json()["command_id"])
    assert record is not None
    message = to_message(record)
    assert message.WhichOneof("action") == field
    got = MessageToDict(getattr(message, field), preserving_proto_field_name=True)
    expected = {k: v for k, v in expected.items() if v not in (False, 0)}
    assert {k: (str(v) if k == "start_time_unix_ms" else v) for k, v in got.items()} == {
        k: (str(v) if k == "start_time_unix_ms" else v) for k, v in expected.items()
    }
