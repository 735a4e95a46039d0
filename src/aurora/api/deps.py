"""Request plumbing shared by every route: the app context, authentication, RBAC, pagination.

Every route takes ``principal = require("<permission>")``; that one dependency authenticates
(session cookie or bearer token), enforces CSRF on state-changing cookie requests and checks the
role, so no route can forget one of the three.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Query, Request
from fastapi import Path as PathParam

from aurora.api.auth import CSRF_HEADER, SESSION_COOKIE, Authenticator, Principal, now_ms
from aurora.api.rbac import allowed
from aurora.collector.bus import Bus
from aurora.collector.store.accounts import AccountStore, AuditEntry, AuditLog
from aurora.collector.store.base import HostRecord, Store
from aurora.config import AuroraConfig

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")


@dataclass
class ApiContext:
    """Everything a route needs, built once by :func:`aurora.api.create_app`."""

    store: Store
    accounts: AccountStore
    audit: AuditLog
    auth: Authenticator
    config: AuroraConfig
    state_dir: Path
    bus: Bus  # the collector's, so live updates see what it commits
    engine: Any | None = None  # aurora.detection.DetectionEngine when detection runs in-process
    stopping: threading.Event = field(default_factory=threading.Event)
    # Rules uploaded through the API, waiting for the collector to reload (id -> Rule).
    pending_rules: dict[str, Any] = field(default_factory=dict)
    # True when create_app opened the account store itself (and so closes it at stop).
    owns_accounts: bool = False
    # True when create_app made its own bus (no collector in this process).
    owns_bus: bool = False

    def close(self) -> None:
        self.stopping.set()
        if self.owns_accounts:
            self.accounts.close()
        if self.owns_bus:
            self.bus.close()

    def record(
        self,
        who: Principal | str,
        action: str,
        *,
        target: str = "",
        host: str = "",
        result: str = "ok",
        detail: dict[str, Any] | None = None,
    ) -> None:
        actor = who if isinstance(who, str) else who.name
        self.audit.append(AuditEntry(now_ms(), actor, action, target, host, result, detail or {}))


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.aurora
    return ctx


def authenticate(request: Request) -> Principal | None:
    ctx = context(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return ctx.auth.from_token(token.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    return ctx.auth.from_cookie(cookie) if cookie else None


def require(permission: str) -> Any:
    """A dependency that yields the :class:`Principal` or answers 401/403."""

    def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if principal is None:
            raise HTTPException(401, "not authenticated: log in or send a bearer API token")
        if request.method not in SAFE_METHODS and not Authenticator.csrf_ok(
            principal, request.headers.get(CSRF_HEADER)
        ):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
        if not allowed(principal.role, permission):
            raise HTTPException(403, f"role {principal.role!r} may not do this ({permission})")
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return Depends(dependency)


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int

    def window(self) -> int:
        """How many rows to fetch from a store that only knows LIMIT (one extra: is there more?)."""
        return self.offset + self.limit + 1

    def page(self, rows: Sequence[T], convert: Callable[[T], Any]) -> dict[str, Any]:
        chunk = rows[self.offset : self.offset + self.limit]
        more = len(rows) > self.offset + self.limit
        return {
            "items": [convert(r) for r in chunk],
            "limit": self.limit,
            "offset": self.offset,
            "next_offset": self.offset + self.limit if more else None,
        }


def _page(
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000, description="items to skip")] = 0,
) -> PageParams:
    return PageParams(limit, offset)


Page = Annotated[PageParams, Depends(_page)]


def resolve_host(ctx: ApiContext, host: str) -> HostRecord:
    """A host by sensor id or hostname, or 404 (409 when a hostname is ambiguous)."""
    ids = ctx.store.resolve_host(host)
    if not ids:
        raise HTTPException(404, f"no enrolled sensor matches {host!r}")
    if len(ids) > 1:
        raise HTTPException(409, f"{host!r} names {len(ids)} sensors; use a sensor id")
    record = ctx.store.get_host(ids[0])
    if record is None:
        raise HTTPException(404, f"no enrolled sensor matches {host!r}")
    return record


# SQLite integers are 64-bit: bounding ids here turns an absurd value into a 422, not a 500.
MAX_INT = 2**62
IdPath = Annotated[int, PathParam(ge=0, le=MAX_INT)]
TimeQuery = Annotated[int | None, Query(ge=0, le=MAX_INT, description="ms since the epoch")]
