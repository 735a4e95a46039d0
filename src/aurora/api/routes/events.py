"""Event search for hunting: by host, time range, class and process, plus free text."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from aurora.api.auth import Principal
from aurora.api.deps import MAX_INT, Page, TimeQuery, context, require, resolve_host
from aurora.api.export import EVENT_COLUMNS, ListFormat, csv_response, export_page
from aurora.api.views import event_view
from aurora.collector.store.base import EventQuery

router = APIRouter(prefix="/api/v1/events", tags=["events"])

# The store indexes host, time, class and process but not text; a text filter scans at most this
# many of the newest events that pass the indexed filters.
TEXT_SCAN_LIMIT = 20_000


@router.get("", summary="search stored events (newest first)", response_model=None)
def search_events(
    request: Request,
    _p: Annotated[Principal, require("read")],
    page: Page,
    host: Annotated[str | None, Query(max_length=200, description="sensor id or hostname")] = None,
    class_uid: Annotated[int | None, Query(ge=0, le=999_999, description="OCSF class")] = None,
    since_ms: TimeQuery = None,
    until_ms: TimeQuery = None,
    pid: Annotated[int | None, Query(ge=0, le=MAX_INT)] = None,
    process_name: Annotated[str | None, Query(max_length=300)] = None,
    q: Annotated[str | None, Query(max_length=300, description="text the event contains")] = None,
    fmt: ListFormat = "json",
) -> dict[str, Any] | Response:
    ctx = context(request)
    page = export_page(page, fmt)
    sensor_ids = [resolve_host(ctx, host).sensor_id] if host else None
    query = EventQuery(
        sensor_ids=sensor_ids,
        class_uid=class_uid,
        since_ms=since_ms,
        until_ms=until_ms,
        pid=pid,
        process_name=process_name or None,
        limit=TEXT_SCAN_LIMIT if q else page.window(),
    )
    events = ctx.store.search_events(query)
    if q:
        needle = q.lower().encode()
        events = [e for e in events if needle in orjson.dumps(e.event).lower()]
    result = page.page(events, event_view)
    if fmt == "csv":
        return csv_response("events", EVENT_COLUMNS, result["items"])
    result["text_scan_limit"] = TEXT_SCAN_LIMIT if q else None
    return result
