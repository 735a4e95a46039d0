"""Logins, session cookies, CSRF, API tokens, rate limiting and the first admin."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from api.apienv import PASSWORD, Env, make_env
from aurora.api.auth import hash_password, verify_password
from aurora.api.bootstrap import ensure_first_admin
from aurora.collector.store.accounts import SQLiteAccounts
from aurora.config import AuroraConfig


def test_login_sets_a_hardened_cookie_and_session_works(env: Env) -> None:
    c = env.client()
    r = c.post("/api/v1/login", json={"name": "analyst", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    for flag in ("secure", "httponly", "samesite=strict", "path=/"):
        assert flag in cookie
    me = c.get("/api/v1/session").json()
    assert me["name"] == "analyst" and me["role"] == "analyst" and me["via"] == "session"
    assert me["csrf_token"] == r.json()["csrf_token"]


def test_wrong_password_and_unknown_user_look_alike(env: Env) -> None:
    c = env.client()
    bad_pw = c.post("/api/v1/login", json={"name": "analyst", "password": "nope"})
    no_user = c.post("/api/v1/login", json={"name": "ghost", "password": "nope"})
    assert bad_pw.status_code == no_user.status_code == 401
    assert bad_pw.json()["detail"] == no_user.json()["detail"] == "wrong user name or password"
    assert "set-cookie" not in bad_pw.headers


def test_state_change_with_cookie_needs_csrf_token(env: Env) -> None:
    from api.apienv import seed

    seed(env)
    c, csrf = env.browser("analyst")
    body = {"action": "isolate", "params": {}}
    missing = c.post("/api/v1/hosts/web-1/actions", json=body)
    assert missing.status_code == 403 and "X-CSRF-Token" in missing.json()["detail"]
    wrong = c.post("/api/v1/hosts/web-1/actions", json=body, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    ok = c.post("/api/v1/hosts/web-1/actions", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 202
    # Reads need no CSRF token.
    assert c.get("/api/v1/hosts").status_code == 200


def test_bearer_tokens_need_no_csrf_and_bad_tokens_are_401(env: Env) -> None:
    from api.apienv import seed

    seed(env)
    ok = env.client("analyst").post(
        "/api/v1/hosts/web-1/actions", json={"action": "unisolate", "params": {}}
    )
    assert ok.status_code == 202
    for header in ("Bearer aur_not-a-real-token", "Bearer", "Basic YTpi", "Bearer notprefixed"):
        r = httpx.get(
            env.server.url + "/api/v1/hosts", headers={"Authorization": header}, verify=env.ca
        )
        assert r.status_code == 401, header


def test_logout_ends_the_session(env: Env) -> None:
    c, csrf = env.browser("viewer")
    assert c.post("/api/v1/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert c.get("/api/v1/session").status_code == 401


def test_api_token_lifecycle(env: Env) -> None:
    c, csrf = env.browser("viewer")
    made = c.post("/api/v1/tokens", json={"name": "script"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    token = made.json()["token"]
    script = env.client()
    script.headers["Authorization"] = f"Bearer {token}"
    assert script.get("/api/v1/session").json()["name"] == "viewer"
    listed = c.get("/api/v1/tokens").json()["items"]
    assert "script" in [t["name"] for t in listed] and all("token" not in t for t in listed)
    tid = made.json()["token_id"]
    assert c.delete(f"/api/v1/tokens/{tid}", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert script.get("/api/v1/session").status_code == 401
    # Someone else's token id is not yours to revoke.
    other = env.client("analyst").delete("/api/v1/tokens/1")
    assert other.status_code == 404


def test_logins_are_rate_limited_per_user(tmp_path: Path) -> None:
    config = AuroraConfig.model_validate({"api": {"login_max_failures": 3, "login_window_s": 60}})
    e = make_env(tmp_path, config)
    try:
        c = e.client()
        for _ in range(3):
            assert (
                c.post("/api/v1/login", json={"name": "admin", "password": "x"}).status_code == 401
            )
        r = c.post("/api/v1/login", json={"name": "admin", "password": PASSWORD})
        assert r.status_code == 429, "even the right password is refused while throttled"
        assert int(r.headers["retry-after"]) == 60
        assert "too many failed logins" in r.json()["detail"]
        audit = e.client("admin").get("/api/v1/audit", params={"action": "login"}).json()["items"]
        assert "throttled" in [a["result"] for a in audit]
    finally:
        e.close()


def test_passwords_are_argon2_hashed(env: Env) -> None:
    user = env.accounts.get_user("admin")
    assert user is not None and user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, PASSWORD)
    assert not verify_password(user.password_hash, PASSWORD + "x")
    assert not verify_password("garbage", PASSWORD)


def test_short_passwords_are_refused(env: Env) -> None:
    r = env.client("admin").post(
        "/api/v1/users", json={"name": "frank", "role": "viewer", "password": "short"}
    )
    assert r.status_code == 422 and "at least 12" in r.json()["detail"]


def test_first_admin_created_once(tmp_path: Path) -> None:
    accounts = SQLiteAccounts(tmp_path / "aurora.db")
    password = ensure_first_admin(accounts)
    assert password is not None and len(password) >= 16
    admin = accounts.get_user("admin")
    assert admin is not None and admin.role == "admin"
    assert verify_password(admin.password_hash, password)
    assert ensure_first_admin(accounts) is None
    accounts.close()


def test_hash_password_rejects_weak() -> None:
    from aurora.api.auth import WeakPassword

    with pytest.raises(WeakPassword):
        hash_password("abc")


def test_start_api_creates_the_first_admin_once_and_serves(tmp_path: Path) -> None:
    from aurora.api.server import start_api
    from aurora.collector.bus import MemoryBus
    from aurora.collector.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "aurora.db")
    bus = MemoryBus()
    config = AuroraConfig.model_validate({"api": {"listen": "127.0.0.1:0"}})
    server, password = start_api(store, config, tmp_path, bus=bus)
    try:
        assert password is not None
        ca = ssl.create_default_context(cafile=str(tmp_path / "pki" / "ca.crt"))
        r = httpx.post(
            server.url + "/api/v1/login",
            json={"name": "admin", "password": password},
            verify=ca,
        )
        assert r.status_code == 200 and r.json()["role"] == "admin"
    finally:
        server.stop()
    again, second = start_api(store, config, tmp_path, bus=bus)
    again.stop()
    bus.close()
    store.close()
    assert second is None, "the password is printed on the first start only"


def test_api_server_reports_a_busy_port(env: Env) -> None:
    from aurora.api.server import ApiServer, ApiServerError, tls_files

    cert, key = tls_files(AuroraConfig().api, env.state_dir)
    with pytest.raises(ApiServerError, match="cannot listen"):
        ApiServer(env.app, f"127.0.0.1:{env.server.port}", cert, key).start()
