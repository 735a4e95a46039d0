"""What protects a browser session, checked on the real HTTPS server: CSRF on every
state-changing route the app has (enumerated from the app, so a new route cannot escape), the
hardening headers on every kind of response, and TLS 1.2 as the oldest protocol offered."""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from api.apienv import PASSWORD, Env, all_routes, make_env, old_tls_client, old_tls_refused, seed

SAFE = {"GET", "HEAD", "OPTIONS"}
# The one state-changing route a browser reaches without a session: it is what creates one.
NO_SESSION_YET = {("POST", "/api/v1/login")}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, dict[str, Any]]]:
    e = make_env(tmp_path_factory.mktemp("guards"))
    data = seed(e)
    yield e, data
    e.close()


def state_changing_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route that may change state, read from the app itself."""
    found = []
    for route in all_routes(app.routes):
        if isinstance(route, APIRoute):
            found += [(m, route.path) for m in route.methods - SAFE]
    return sorted(found)


def _url(path: str) -> str:
    return re.sub(r"\{\w+\}", "1", path)


def test_every_state_changing_route_refuses_a_missing_or_foreign_csrf_token(
    site: tuple[Env, dict[str, Any]],
) -> None:
    env, _ = site
    routes = state_changing_routes(env.app)
    assert len(routes) >= 10, routes  # the enumeration itself works
    victim, _ = env.browser("admin")
    _, foreign = env.browser("admin")  # a valid token, of another session of the same user
    failures = []
    for method, path in routes:
        if (method, path) in NO_SESSION_YET:
            continue
        for label, headers in (("no token", {}), ("foreign token", {"X-CSRF-Token": foreign})):
            r = victim.request(method, _url(path), json={}, headers=headers)
            if r.status_code != 403 or "X-CSRF-Token" not in r.text:
                failures.append(f"{method} {path} with {label}: {r.status_code} {r.text[:80]}")
    assert not failures, "\n".join(failures)
    assert victim.get("/api/v1/session").status_code == 200, "the victim's session survived"


def test_a_cookie_cannot_be_planted_before_login(site: tuple[Env, dict[str, Any]]) -> None:
    # Session fixation: a cookie value the attacker chose is no session, and login replaces it.
    env, _ = site
    c = env.client()
    c.cookies.set("aurora_session", "attacker-chosen")
    assert c.get("/api/v1/session").status_code == 401


HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def _check_headers(resp: httpx.Response) -> list[str]:
    where = f"{resp.request.method} {resp.request.url.path} -> {resp.status_code}"
    problems = [
        f"{where}: {k}={resp.headers.get(k)!r}"
        for k, v in HEADERS.items()
        if resp.headers.get(k) != v
    ]
    csp = resp.headers.get("content-security-policy", "")
    directives = dict([*d.strip().split(" ", 1), ""][:2] for d in csp.split(";") if d.strip())
    script = directives.get("script-src", directives.get("default-src", ""))
    if not script or "unsafe-inline" in script or "unsafe-eval" in script or "*" in script:
        problems.append(f"{where}: script-src {script!r}")
    if directives.get("frame-ancestors") != "'none'":
        problems.append(f"{where}: frame-ancestors {directives.get('frame-ancestors')!r}")
    if "max-age=" not in resp.headers.get("strict-transport-security", ""):
        problems.append(f"{where}: no HSTS")
    if resp.headers.get("x-content-type-options", "").count("nosniff") != 1:
        problems.append(f"{where}: headers repeated")
    return problems


def test_every_kind_of_response_carries_the_hardening_headers(
    site: tuple[Env, dict[str, Any]],
) -> None:
    env, data = site
    browser, _ = env.browser("viewer")
    token = env.client("viewer")
    anonymous = env.client()

    def crash() -> None:
        raise RuntimeError("deliberate crash for the header test")

    env.app.add_api_route("/api/v1/test-crash", crash)
    responses = [
        browser.get("/alerts"),
        browser.get(f"/alerts/{data['alert_id']}"),
        browser.get("/users"),  # 403 page for a viewer
        anonymous.get("/login"),
        anonymous.get("/alerts", follow_redirects=False),  # 303 to the login page
        anonymous.get("/static/app.js"),
        anonymous.get("/static/pages.js"),
        anonymous.get("/static/app.css"),
        anonymous.get("/static/no-such-file.js"),
        anonymous.get("/no/such/page"),
        anonymous.get("/api/v1/hosts"),  # 401
        token.get("/api/v1/hosts"),
        token.get("/api/v1/alerts/999999"),  # 404
        token.get("/api/v1/alerts", params={"limit": "x"}),  # 422
        token.put("/api/v1/hosts"),  # 405
        browser.post("/api/v1/logout"),  # 403 without the CSRF token
        token.get("/api/docs"),
        token.get("/openapi.json"),
        token.get("/api/v1/test-crash"),  # 500
    ]
    assert responses[-1].status_code == 500
    problems = [p for r in responses for p in _check_headers(r)]
    assert not problems, "\n".join(problems)


def test_pages_carry_no_inline_script(site: tuple[Env, dict[str, Any]]) -> None:
    env, data = site
    browser, _ = env.browser("admin")
    pages = ["/alerts", f"/alerts/{data['alert_id']}", "/hosts", "/hosts/web-1", "/events"]
    pages += ["/rules", "/users", "/audit"]
    for path in [*pages, "/login"]:
        html = browser.get(path).text
        for script in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S | re.I):
            assert not script.strip(), f"inline script on {path}"
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), f"inline event handler on {path}"
        assert "javascript:" not in html.lower(), path


def test_the_console_refuses_tls_older_than_1_2(site: tuple[Env, dict[str, Any]]) -> None:
    env, _ = site
    assert old_tls_refused(env.server.port)


def test_the_old_tls_client_really_offers_tls_1_1(site: tuple[Env, dict[str, Any]]) -> None:
    # The control for the test above: a server that allows TLS 1.1 completes the handshake.
    env, _ = site
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki = env.state_dir / "pki"
    server.load_cert_chain(pki / "server.crt", pki / "server.key")
    server.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        server.minimum_version = ssl.TLSVersion.TLSv1
    versions: list[str | None] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def accept() -> None:
            conn, _ = listener.accept()
            with server.wrap_socket(conn, server_side=True) as tls:
                versions.append(tls.version())

        thread = threading.Thread(target=accept)
        thread.start()
        raw = socket.create_connection(listener.getsockname(), timeout=10)
        with old_tls_client().wrap_socket(raw, server_hostname="localhost") as tls:
            versions.append(tls.version())
        thread.join(timeout=10)
    assert versions == ["TLSv1.1", "TLSv1.1"]


def test_login_refuses_a_cross_site_form_post(site: tuple[Env, dict[str, Any]]) -> None:
    # An HTML form on another site can POST text/plain without a CORS preflight; a login it
    # could make would put the victim's browser in the attacker's session (login CSRF).
    env, _ = site
    body = json.dumps({"name": "viewer", "password": PASSWORD})
    r = env.client().post("/api/v1/login", content=body, headers={"Content-Type": "text/plain"})
    assert r.status_code == 422 and "set-cookie" not in r.headers
