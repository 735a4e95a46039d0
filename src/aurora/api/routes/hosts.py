"""Hosts: the fleet table, one host's health, capabilities and isolation, its process trees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from aurora.api.auth import Principal
from aurora.api.deps import (
    MAX_INT,
    ApiContext,
    IdPath,
    Page,
    TimeQuery,
    context,
    require,
    resolve_host,
)
from aurora.api.export import HOST_COLUMNS, ListFormat, csv_response, export_page
from aurora.api.processes import process_tree, timeline
from aurora.api.sorting import OrderQuery, SortQuery, sort_rows
from aurora.api.views import event_view, host_health, host_view
from aurora.collector.store.base import HostRecord

router = APIRouter(prefix="/api/v1/hosts", tags=["hosts"])
_HOST_SORT: dict[str, Callable[[HostRecord], Any]] = {
    "host": lambda h: (h.hostname or h.sensor_id).lower(),
    "os": lambda h: (h.os_name, h.os_version),
    "connected": lambda h: h.connected,
    "health": lambda h: h.health,
    "isolation": lambda h: h.isolation,
    "last_seen": lambda h: h.last_seen_ms,
    "drops": lambda h: h.drops_kernel + h.drops_spool_evicted + h.drops_spool_corrupt,
}


@router.get("", summary="list enrolled hosts", response_model=None)
def list_hosts(
    request: Request,
    _p: Annotated[Principal, require("read")],
    page: Page,
    q: Annotated[str | None, Query(max_length=200, description="substring of name/id")] = None,
    sort: SortQuery = None,
    order: OrderQuery = "asc",
    fmt: ListFormat = "json",
) -> dict[str, Any] | Response:
    page = export_page(page, fmt)
    hosts = context(request).store.list_hosts()
    if q:
        needle = q.lower()
        hosts = [h for h in hosts if needle in h.hostname.lower() or needle in h.sensor_id.lower()]
    hosts = sort_rows(hosts, sort, order, _HOST_SORT)
    result = page.page(hosts, host_view)
    if fmt == "csv":
        return csv_response("hosts", HOST_COLUMNS, result["items"])
    return result


@router.get("/{host}", summary="one host")
def get_host(
    host: str,
    request: Request,
    _p: Annotated[Principal, require("read")],
) -> dict[str, Any]:
    ctx = context(request)
    h = resolve_host(ctx, host)
    return host_view(h, isolate_pending=bool(_pending_isolation(ctx, h.sensor_id, ("isolate",))))


@router.get("/{host}/health", summary="health, spool depth, drop counts")
def get_health(
    host: str,
    request: Request,
    _p: Annotated[Principal, require("read")],
) -> dict[str, Any]:
    return host_health(resolve_host(context(request), host))


@router.get("/{host}/capabilities", summary="what the sensor can do here, and why not")
def get_capabilities(
    host: str,
    request: Request,
    _p: Annotated[Principal, require("read")],
) -> dict[str, Any]:
    h = resolve_host(context(request), host)
    return {"sensor_id": h.sensor_id, "capabilities": list(h.capabilities)}


@router.get("/{host}/isolation", summary="network isolation state")
def get_isolation(
    host: str,
    request: Request,
    _p: Annotated[Principal, require("read")],
) -> dict[str, Any]:
    ctx = context(request)
    h = resolve_host(ctx, host)
    pending = _pending_isolation(ctx, h.sensor_id, ("isolate", "unisolate"))
    return {"sensor_id": h.sensor_id, "isolation": h.isolation, "pending_commands": pending}


def _pending_isolation(ctx: ApiContext, sensor_id: str, actions: tuple[str, ...]) -> list[str]:
    """Ids of the host's isolation commands (of ``actions``) not yet finished."""
    return [
        c.command_id
        for c in ctx.store.list_commands(sensor_id, limit=50)
        if c.action in actions and c.state in ("queued", "sent", "running")
    ]


@router.get("/{host}/processes/{pid}/tree", summary="ancestors and children of a process")
def get_tree(
    host: str,
    pid: IdPath,
    request: Request,
    _p: Annotated[Principal, require("read")],
    at_ms: TimeQuery = None,
) -> dict[str, Any]:
    ctx = context(request)
    h = resolve_host(ctx, host)
    tree = process_tree(ctx.store, h.sensor_id, pid, at_ms)
    tree["sensor_id"] = h.sensor_id
    return tree


@router.get("/{host}/processes/{pid}/timeline", summary="events of a process, oldest first")
def get_timeline(
    host: str,
    pid: IdPath,
    request: Request,
    _p: Annotated[Principal, require("read")],
    page: Page,
    since_ms: TimeQuery = None,
    until_ms: TimeQuery = None,
) -> dict[str, Any]:
    ctx = context(request)
    h = resolve_host(ctx, host)
    events = timeline(
        ctx.store,
        h.sensor_id,
        pid,
        since_ms=since_ms,
        until_ms=until_ms,
        limit=min(page.window(), MAX_INT),
    )
    return page.page(events, event_view)
