"""The audit log (admin only): who did what, to which host, when, and how it ended.

Response actions are audited when requested; their outcome arrives later from the sensor, so
each action entry is joined here with the command's current state.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from aurora.api.auth import Principal
from aurora.api.deps import Page, TimeQuery, context, require
from aurora.api.export import AUDIT_COLUMNS, ListFormat, csv_response, export_page
from aurora.api.views import audit_view
from aurora.collector.store.accounts import AuditQuery

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", summary="audit entries, newest first", response_model=None)
def list_audit(
    request: Request,
    _p: Annotated[Principal, require("audit:read")],
    page: Page,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    host: Annotated[str | None, Query(max_length=200)] = None,
    since_ms: TimeQuery = None,
    fmt: ListFormat = "json",
) -> dict[str, Any] | Response:
    ctx = context(request)
    page = export_page(page, fmt)
    entries = ctx.audit.query(
        AuditQuery(actor, action, host, since_ms, limit=page.limit + 1, offset=page.offset)
    )
    views = []
    for e in entries[: page.limit]:
        v = audit_view(e)
        if e.action.startswith("action.") and e.target:
            cmd = ctx.store.get_command(e.target)
            if cmd is not None:
                v["command_state"] = cmd.state
                v["command_message"] = cmd.message
        views.append(v)
    if fmt == "csv":
        return csv_response("audit", AUDIT_COLUMNS, views)
    return {
        "items": views,
        "limit": page.limit,
        "offset": page.offset,
        "next_offset": page.offset + page.limit if len(entries) > page.limit else None,
    }
