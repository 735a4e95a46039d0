"""Alerts: the queue with filters, one alert with evidence and process tree, triage by analysts
(status, assignment, comments)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from aurora.api.auth import Principal, now_ms
from aurora.api.deps import ApiContext, IdPath, Page, TimeQuery, context, require, resolve_host
from aurora.api.explain import explain
from aurora.api.export import ALERT_COLUMNS, ListFormat, csv_response, export_page
from aurora.api.processes import process_tree
from aurora.api.sorting import OrderQuery, SortQuery, sort_rows
from aurora.api.views import alert_summary, comment_view, evidence_process
from aurora.collector.store.base import AlertRecord

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
Status = Literal["new", "acknowledged", "resolved"]
# Alert filters the store cannot apply (severity, assignee, text) run over this many newest ones.
FILTER_SCAN_LIMIT = 10_000


class AlertPatch(BaseModel):
    status: Status | None = None
    assignee: Annotated[str | None, Field(max_length=100, description="user name, '' = none")] = (
        None
    )


class CommentBody(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=10_000)]


_ALERT_SORT: dict[str, Callable[[AlertRecord], Any]] = {
    "severity": lambda a: a.severity_id,
    "title": lambda a: a.title.lower(),
    "host": lambda a: a.sensor_id,
    "status": lambda a: a.status,
    "count": lambda a: a.count,
    "first_seen": lambda a: a.first_seen_ms,
    "last_seen": lambda a: a.last_seen_ms,
}


def _get(ctx: ApiContext, alert_id: int) -> AlertRecord:
    alert = ctx.store.get_alert(alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return alert


@router.get("", summary="the alert queue, newest activity first", response_model=None)
def list_alerts(
    request: Request,
    _p: Annotated[Principal, require("read")],
    page: Page,
    status: Status | None = None,
    host: Annotated[str | None, Query(max_length=200)] = None,
    since_ms: TimeQuery = None,
    min_severity: Annotated[int | None, Query(ge=0, le=6)] = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in title or rule")] = None,
    full: Annotated[bool, Query(description="include each alert's Detection Finding")] = False,
    sort: SortQuery = None,
    order: OrderQuery = "desc",
    fmt: ListFormat = "json",
) -> dict[str, Any] | Response:
    ctx = context(request)
    page = export_page(page, fmt)
    sensor_id = resolve_host(ctx, host).sensor_id if host else None
    post_filter = min_severity is not None or assignee is not None or bool(q) or bool(sort)
    alerts = ctx.store.list_alerts(
        since_ms=since_ms,
        status=status,
        sensor_id=sensor_id,
        limit=FILTER_SCAN_LIMIT if post_filter else page.window(),
    )
    owners = ctx.accounts.assignees([a.alert_id for a in alerts])
    if min_severity is not None:
        alerts = [a for a in alerts if a.severity_id >= min_severity]
    if assignee is not None:
        alerts = [a for a in alerts if owners.get(a.alert_id, "") == assignee]
    if q:
        needle = q.lower()
        alerts = [a for a in alerts if needle in a.title.lower() or needle in a.rule_uid.lower()]
    alerts = sort_rows(alerts, sort, order, _ALERT_SORT)

    def view(a: AlertRecord) -> dict[str, Any]:
        out = alert_summary(a, owners.get(a.alert_id, ""))
        if full:
            out["finding"] = a.finding
        return out

    result = page.page(alerts, view)
    if fmt == "csv":
        return csv_response("alerts", ALERT_COLUMNS, result["items"])
    return result


@router.get("/{alert_id}", summary="one alert: finding, evidence, process tree, comments")
def get_alert(
    alert_id: IdPath,
    request: Request,
    p: Annotated[Principal, require("read")],
) -> dict[str, Any]:
    ctx = context(request)
    alert = _get(ctx, alert_id)
    out = alert_summary(alert, ctx.accounts.assignees([alert_id]).get(alert_id, ""))
    out["finding"] = alert.finding
    out["comments"] = [comment_view(c) for c in ctx.accounts.list_comments(alert_id)]
    proc = evidence_process(alert.finding)
    tree = None
    if proc and isinstance(proc.get("pid"), int):
        tree = process_tree(ctx.store, alert.sensor_id, proc["pid"], alert.last_seen_ms)
        # The finding carries the ancestry the sensor saw when the event happened; prefer it
        # when the store has no launch events for the chain (e.g. they aged out).
        if not tree["ancestors"] and isinstance(proc.get("ancestry"), list):
            tree["ancestors"] = proc["ancestry"]
    out["process_tree"] = tree
    out["explanation"] = explain(ctx, alert, tree, p.role)
    return out


@router.patch("/{alert_id}", summary="change status and/or assignee")
def patch_alert(
    alert_id: IdPath,
    body: AlertPatch,
    request: Request,
    p: Annotated[Principal, require("alerts:write")],
) -> dict[str, Any]:
    ctx = context(request)
    alert = _get(ctx, alert_id)
    if body.assignee and ctx.accounts.get_user(body.assignee) is None:
        raise HTTPException(422, f"no user named {body.assignee!r} to assign to")
    if body.status is not None and body.status != alert.status:
        ctx.store.set_alert_status(alert_id, body.status)
        ctx.record(
            p,
            "alert.status",
            target=str(alert_id),
            host=alert.sensor_id,
            detail={"from": alert.status, "to": body.status},
        )
    if body.assignee is not None:
        ctx.accounts.assign_alert(alert_id, body.assignee, now_ms())
        ctx.record(
            p,
            "alert.assign",
            target=str(alert_id),
            host=alert.sensor_id,
            detail={"assignee": body.assignee},
        )
    fresh = _get(ctx, alert_id)
    return alert_summary(fresh, ctx.accounts.assignees([alert_id]).get(alert_id, ""))


@router.get("/{alert_id}/comments", summary="comments on an alert, oldest first")
def list_comments(
    alert_id: IdPath,
    request: Request,
    page: Page,
    _p: Annotated[Principal, require("read")],
) -> dict[str, Any]:
    ctx = context(request)
    _get(ctx, alert_id)
    return page.page(ctx.accounts.list_comments(alert_id), comment_view)


@router.post("/{alert_id}/comments", status_code=201, summary="comment on an alert")
def add_comment(
    alert_id: IdPath,
    body: CommentBody,
    request: Request,
    p: Annotated[Principal, require("alerts:write")],
) -> dict[str, Any]:
    ctx = context(request)
    alert = _get(ctx, alert_id)
    comment = ctx.accounts.add_comment(alert_id, p.name, body.text, now_ms())
    ctx.record(p, "alert.comment", target=str(alert_id), host=alert.sensor_id)
    return comment_view(comment)
