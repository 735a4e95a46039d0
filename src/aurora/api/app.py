"""The FastAPI application: REST API under /api/v1, the console pages, static files.

Built by :func:`create_app` from the collector's store and configuration; the collector (or
`aurora run`) serves it with :class:`aurora.api.server.ApiServer`. Errors a client can cause are
always 4xx with a ``detail`` message: validation errors are flattened to one line (plus the
structured list), and :class:`~aurora.errors.AuroraError` becomes 400.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aurora import __version__
from aurora.api.auth import Authenticator
from aurora.api.deps import ApiContext
from aurora.api.routes import (
    actions,
    alerts,
    audit,
    console,
    dashboard,
    events,
    hosts,
    hunts,
    incidents,
    live,
    plugins,
    rules,
    session,
    tuning,
    updates,
)
from aurora.api.routes import users as users_routes
from aurora.collector.bus import Bus, MemoryBus
from aurora.collector.store import open_accounts
from aurora.collector.store.accounts import AccountStore, AuditLog
from aurora.collector.store.base import Store
from aurora.config import AuroraConfig
from aurora.errors import AuroraError

log = logging.getLogger(__name__)

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"strict-transport-security", b"max-age=31536000"),
]


class SecurityHeaders:
    """Adds the console's hardening headers to every response (a pure ASGI middleware, so
    server-sent event streams pass through unbuffered)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + _SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, wrapped)


class _ConsoleApp(FastAPI):
    """FastAPI with :class:`SecurityHeaders` outside everything, Starlette's error middleware
    included: added as an ordinary middleware, it never saw the 500 page that one sends."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def _one_line(errors: list[Any]) -> str:
    parts = []
    for err in errors[:3]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": list(e.get("loc", ())),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    return JSONResponse({"detail": _one_line(errors), "errors": errors}, status_code=422)


async def _aurora_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuroraError)
    return JSONResponse({"detail": exc.message}, status_code=400)


def create_app(
    store: Store,
    config: AuroraConfig,
    state_dir: Path,
    *,
    engine: Any | None = None,
    accounts: AccountStore | None = None,
    audit_log: AuditLog | None = None,
    bus: Bus | None = None,
) -> FastAPI:
    """The API + console over ``store``. ``accounts`` defaults to tables in <state>/aurora.db;
    ``bus`` should be the collector's (without one, the app makes its own, which hears only
    what the API itself does)."""
    owns_accounts = accounts is None
    if accounts is None:
        accounts = open_accounts(Path(state_dir), config.collector.store)
    if audit_log is None:
        if not isinstance(accounts, AuditLog):
            raise TypeError("pass audit_log when the account store is not also an AuditLog")
        audit_log = accounts
    api = config.api
    ctx = ApiContext(
        store=store,
        accounts=accounts,
        audit=audit_log,
        auth=Authenticator(
            accounts,
            session_ttl_s=api.session_ttl_s,
            max_failures=api.login_max_failures,
            window_s=api.login_window_s,
        ),
        config=config,
        state_dir=Path(state_dir),
        bus=bus if bus is not None else MemoryBus(),
        engine=engine,
        owns_accounts=owns_accounts,
        owns_bus=bus is None,
    )
    if engine is not None:
        # Rules disabled through the console stay disabled across collector restarts.
        for rule in getattr(engine, "rules", []):
            if rule.id in accounts.disabled_rules():
                rule.enabled = False
    app = _ConsoleApp(
        title="Aurora EDR API",
        version=__version__,
        description="Hosts, events, alerts, response actions, rules, users and the audit log. "
        "Authenticate with a session cookie (+ X-CSRF-Token) or `Authorization: Bearer <token>`.",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.aurora = ctx
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(AuroraError, _aurora_error)
    for module in (
        session,
        hosts,
        events,
        alerts,
        incidents,
        actions,
        rules,
        users_routes,
        audit,
        live,
        dashboard,
        updates,
        tuning,
        hunts,
        plugins,
    ):
        app.include_router(module.router)
    app.include_router(console.router)
    static = resources.files("aurora.api") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app
