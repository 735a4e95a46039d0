"""RBAC matrix: every route of the app, called as anonymous, viewer, analyst and admin.

The expected permissions are written out here, independently of aurora.api.rbac, and the test
fails when the app grows a route this table does not list, so no route escapes the matrix.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from api.apienv import PASSWORD, SENSOR, Env, all_routes, make_env, seed
from aurora.collector.store.base import CommandRecord, UploadRecord

PUBLIC = "public"
WHO_MAY = {
    PUBLIC: {None, "viewer", "analyst", "admin"},
    "read": {"viewer", "analyst", "admin"},
    "alerts:write": {"analyst", "admin"},
    "respond": {"analyst", "admin"},
    "triage:download": {"analyst", "admin"},
    "rules:write": {"admin"},
    "users:manage": {"admin"},
    "audit:read": {"admin"},
    "sensors:update": {"admin"},
    "plugins:manage": {"admin"},
}

# (method, route path) -> permission needed
API_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/login"): PUBLIC,
    ("POST", "/api/v1/logout"): "read",
    ("GET", "/api/v1/session"): "read",
    ("GET", "/api/v1/tokens"): "read",
    ("POST", "/api/v1/tokens"): "read",
    ("DELETE", "/api/v1/tokens/{token_id}"): "read",
    ("GET", "/api/v1/hosts"): "read",
    ("GET", "/api/v1/hosts/{host}"): "read",
    ("GET", "/api/v1/hosts/{host}/health"): "read",
    ("GET", "/api/v1/hosts/{host}/capabilities"): "read",
    ("GET", "/api/v1/hosts/{host}/isolation"): "read",
    ("GET", "/api/v1/hosts/{host}/processes/{pid}/tree"): "read",
    ("GET", "/api/v1/hosts/{host}/processes/{pid}/timeline"): "read",
    ("GET", "/api/v1/events"): "read",
    ("GET", "/api/v1/alerts"): "read",
    ("GET", "/api/v1/alerts/{alert_id}"): "read",
    ("PATCH", "/api/v1/alerts/{alert_id}"): "alerts:write",
    ("GET", "/api/v1/alerts/{alert_id}/comments"): "read",
    ("POST", "/api/v1/alerts/{alert_id}/comments"): "alerts:write",
    ("POST", "/api/v1/hosts/{host}/actions"): "respond",
    ("GET", "/api/v1/actions"): "read",
    ("GET", "/api/v1/actions/{command_id}"): "read",
    ("GET", "/api/v1/actions/{command_id}/download"): "triage:download",
    ("GET", "/api/v1/rules"): "read",
    ("POST", "/api/v1/rules"): "rules:write",
    ("GET", "/api/v1/rules/{rule_id}"): "read",
    ("PUT", "/api/v1/rules/{rule_id}/enabled"): "rules:write",
    ("GET", "/api/v1/users"): "users:manage",
    ("POST", "/api/v1/users"): "users:manage",
    ("PATCH", "/api/v1/users/{name}"): "users:manage",
    ("DELETE", "/api/v1/users/{name}"): "users:manage",
    ("GET", "/api/v1/audit"): "audit:read",
    ("GET", "/api/v1/stream"): "read",
    ("GET", "/api/v1/dashboard"): "read",
    ("GET", "/api/v1/incidents"): "read",
    ("GET", "/api/v1/incidents/{incident_id}"): "read",
    ("POST", "/api/v1/rollouts"): "sensors:update",
    ("GET", "/api/v1/rollouts"): "read",
    ("GET", "/api/v1/rollouts/{rollout_id}"): "read",
    ("GET", "/api/v1/tuning"): "read",
    ("POST", "/api/v1/tuning"): "rules:write",
    ("DELETE", "/api/v1/tuning/{exception_id}"): "rules:write",
    ("GET", "/api/v1/hunts"): "read",
    ("POST", "/api/v1/hunts"): "alerts:write",
    ("GET", "/api/v1/hunts/{hunt_id}"): "read",
    ("GET", "/api/v1/plugins"): "read",
    ("POST", "/api/v1/plugins"): "plugins:manage",
    ("DELETE", "/api/v1/plugins/{name}"): "plugins:manage",
}

PAGES: dict[str, str] = {
    "/": PUBLIC,
    "/login": PUBLIC,
    "/dashboard": "read",
    "/alerts": "read",
    "/alerts/{alert_id}": "read",
    "/incidents": "read",
    "/incidents/{incident_id}": "read",
    "/hosts": "read",
    "/hosts/{host}": "read",
    "/events": "read",
    "/rules": "read",
    "/rules/{rule_id}": "read",
    "/hunts": "read",
    "/users": "users:manage",
    "/audit": "audit:read",
    "/updates": "read",
}

BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/login"): {"name": "viewer", "password": PASSWORD},
    ("POST", "/api/v1/tokens"): {"name": "matrix"},
    ("PATCH", "/api/v1/alerts/{alert_id}"): {"status": "acknowledged"},
    ("POST", "/api/v1/alerts/{alert_id}/comments"): {"text": "seen"},
    ("POST", "/api/v1/hosts/{host}/actions"): {"action": "isolate", "params": {}},
    ("POST", "/api/v1/rules"): {"yaml": "title: broken\n"},
    ("PUT", "/api/v1/rules/{rule_id}/enabled"): {"enabled": True},
    ("POST", "/api/v1/users"): {"name": "matrix-user", "role": "viewer"},
    ("PATCH", "/api/v1/users/{name}"): {"role": "viewer"},
    ("POST", "/api/v1/tuning"): {"rule": "no-such-rule", "fields": {"Image": ["x"]}},
    ("POST", "/api/v1/hunts"): {"rule_id": "no-such-rule", "since_ms": 0},
    ("POST", "/api/v1/plugins"): {"manifest_toml": "name = 1\n", "all": True},
}


@pytest.fixture(scope="module")
def matrix_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, dict[str, str]]]:
    e = make_env(tmp_path_factory.mktemp("rbac"))
    s = seed(e)
    now = int(time.time() * 1000)
    e.store.enqueue_command(
        CommandRecord("a" * 32, SENSOR, "triage", {"artifacts": []}, now, now + 60_000)
    )
    uploads = e.state_dir / "uploads"
    uploads.mkdir()
    archive = uploads / ("a" * 32 + ".tar.zst")
    archive.write_bytes(b"triage-bytes")
    digest = hashlib.sha256(b"triage-bytes").hexdigest()
    e.store.record_upload(UploadRecord("a" * 32, SENSOR, str(archive), 12, digest, True, now))
    values = {
        "host": "web-1",
        "pid": "300",
        "alert_id": str(s["alert_id"]),
        "incident_id": str(s["alert_id"]),
        "command_id": "a" * 32,
        "token_id": "999999",
        "rule_id": "no-such-rule",
        "name": "nobody",
        "rollout_id": "no-such-rollout",
        "exception_id": "nothing",
        "hunt_id": "nothing",
    }
    yield e, values
    e.close()


def _url(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


_clients: dict[tuple[int, str | None], Any] = {}


def _call(env: Env, role: str | None, method: str, path: str, values: dict[str, str]) -> int:
    key = (id(env), role)
    client = _clients.get(key) or _clients.setdefault(key, env.client(role))
    url = _url(path, values)
    if path == "/api/v1/stream":
        with client.stream("GET", url) as resp:
            return resp.status_code
    body = BODIES.get((method, path))
    resp = client.request(method, url, json=body, follow_redirects=False)
    client.cookies.clear()  # the login route sets a session; later calls must stay anonymous
    return resp.status_code


def test_every_route_is_in_the_matrix(matrix_env: tuple[Env, dict[str, str]]) -> None:
    env, _ = matrix_env
    api, pages = set(), set()
    for route in all_routes(env.app.routes):
        if isinstance(route, APIRoute):
            for method in route.methods:
                if route.path.startswith("/api/"):
                    api.add((method, route.path))
                else:
                    pages.add(route.path)
    assert api == set(API_ROUTES), "update API_ROUTES for new or removed routes"
    assert pages == set(PAGES), "update PAGES for new or removed pages"


@pytest.mark.parametrize("role", [None, "viewer", "analyst", "admin"])
def test_api_matrix(matrix_env: tuple[Env, dict[str, str]], role: str | None) -> None:
    env, values = matrix_env
    failures = []
    for (method, path), permission in sorted(API_ROUTES.items()):
        status = _call(env, role, method, path, values)
        if role in WHO_MAY[permission]:
            ok = status not in (401, 403) and status < 500
        elif role is None:
            ok = status == 401
        else:
            ok = status == 403
        if not ok:
            failures.append(f"{role or 'anonymous'} {method} {path} -> {status}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", [None, "viewer", "analyst", "admin"])
def test_page_matrix(matrix_env: tuple[Env, dict[str, str]], role: str | None) -> None:
    env, values = matrix_env
    if role is None:
        client = env.client()
    else:
        client, _ = env.browser(role)
    for path, permission in PAGES.items():
        resp = client.get(_url(path, values), follow_redirects=False)
        if path == "/":
            assert resp.status_code == 303 and resp.headers["location"] == "/alerts"
        elif permission == PUBLIC:
            assert resp.status_code == 200, path
        elif role is None:
            assert resp.status_code == 303, path
            assert resp.headers["location"].startswith("/login?next=")
        elif role in WHO_MAY[permission]:
            assert resp.status_code == 200, path
            assert "text/html" in resp.headers["content-type"]
        else:
            assert resp.status_code == 403, path


def test_pages_need_a_session_not_a_token(matrix_env: tuple[Env, dict[str, str]]) -> None:
    env, _ = matrix_env
    # A bearer token is for scripts; the console proper needs a cookie session (with CSRF).
    resp = env.client("admin").get("/alerts", follow_redirects=False)
    assert resp.status_code == 303


def test_viewer_never_acts_on_hosts(matrix_env: tuple[Env, dict[str, str]]) -> None:
    env, _ = matrix_env
    before = {c.command_id for c in env.store.list_commands(limit=1000)}
    browser, csrf = env.browser("viewer")
    for action, params in [
        ("isolate", {}),
        ("unisolate", {}),
        ("kill", {"pid": 300}),
        ("quarantine", {"path": "/tmp/x"}),
        ("restore", {"quarantine_id": "q1"}),
        ("triage", {}),
    ]:
        for client, headers in ((env.client("viewer"), {}), (browser, {"X-CSRF-Token": csrf})):
            resp = client.post(
                "/api/v1/hosts/web-1/actions",
                json={"action": action, "params": params},
                headers=headers,
            )
            assert resp.status_code == 403, action
    assert {c.command_id for c in env.store.list_commands(limit=1000)} == before


def test_static_assets_are_public(matrix_env: tuple[Env, dict[str, str]]) -> None:
    env, _ = matrix_env
    for asset in ("/static/app.js", "/static/pages.js", "/static/app.css"):
        resp = env.client().get(asset)
        assert resp.status_code == 200 and len(resp.content) > 500
