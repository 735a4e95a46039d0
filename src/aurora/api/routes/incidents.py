"""Incidents: alerts of one host joined by their process tree, scored; the queue and one
incident with its alerts, the tree that joins them and a timeline."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from aurora.api.auth import Principal
from aurora.api.deps import ApiContext, IdPath, Page, TimeQuery, context, require, resolve_host
from aurora.api.views import alert_summary
from aurora.collector.incidents import (
    Incident,
    find_incident,
    incident_summary,
    joining_tree,
    list_incidents,
    timeline,
)

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


def window_ms(ctx: ApiContext) -> int:
    return int(ctx.config.detection.incident_window_s * 1000)


def summary(ctx: ApiContext, incident: Incident) -> dict[str, Any]:
    host = ctx.store.get_host(incident.sensor_id)
    return incident_summary(incident, host.hostname if host else "")


def incident_detail(ctx: ApiContext, incident_id: int) -> dict[str, Any]:
    """One incident in full, or 404."""
    incident = find_incident(ctx.store, incident_id, window_ms(ctx))
    if incident is None:
        raise HTTPException(404, f"no incident {incident_id}")
    out = summary(ctx, incident)
    owners = ctx.accounts.assignees([a.alert_id for a in incident.alerts])
    out["alerts"] = [alert_summary(a, owners.get(a.alert_id, "")) for a in incident.alerts]
    out["process_tree"] = joining_tree(incident)
    out["timeline"] = timeline(incident)
    return out


@router.get("", summary="the incident queue, highest score first")
def get_incidents(
    request: Request,
    _p: Annotated[Principal, require("read")],
    page: Page,
    status: Literal["open", "resolved"] | None = None,
    host: Annotated[str | None, Query(max_length=200)] = None,
    since_ms: TimeQuery = None,
) -> dict[str, Any]:
    ctx = context(request)
    sensor_id = resolve_host(ctx, host).sensor_id if host else None
    incidents = list_incidents(ctx.store, window_ms(ctx), sensor_id=sensor_id, since_ms=since_ms)
    if status is not None:
        incidents = [i for i in incidents if i.status == status]
    incidents.sort(key=lambda i: (i.status == "open", i.score, i.last_seen_ms), reverse=True)
    return page.page(incidents, lambda i: summary(ctx, i))


@router.get("/{incident_id}", summary="one incident: alerts, joining process tree, timeline")
def get_incident(
    incident_id: IdPath, request: Request, _p: Annotated[Principal, require("read")]
) -> dict[str, Any]:
    return incident_detail(context(request), incident_id)
