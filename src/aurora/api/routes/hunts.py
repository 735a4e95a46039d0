"""Retro-hunts from the console and the API: run a rule (from the loaded set, or uploaded with
the request) over stored events of a time range and hosts; follow its progress.

The hunt runs in a thread of this process (:mod:`aurora.collector.retrohunt`); its matches are
stored as alerts marked as retro-hunt results. They are not announced on the bus, so rule-driven
response never acts on an old event.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from aurora.api.auth import Principal, now_ms
from aurora.api.deps import MAX_INT, ApiContext, Page, context, require, resolve_host
from aurora.api.export import ListFormat, csv_response, export_page
from aurora.api.routes.rules import engine
from aurora.collector.retrohunt import RetroHunts, single_rule_engine
from aurora.detection.rules import Rule, load_rules

router = APIRouter(prefix="/api/v1/hunts", tags=["hunts"])
_registry_lock = threading.Lock()


class HuntRequest(BaseModel):
    rule_id: Annotated[str | None, Field(max_length=200)] = None
    yaml: Annotated[str | None, Field(max_length=1 << 20)] = None
    since_ms: Annotated[int, Field(ge=0, le=MAX_INT)]
    until_ms: Annotated[int | None, Field(ge=0, le=MAX_INT)] = None
    hosts: Annotated[list[str] | None, Field(max_length=1000)] = None


def registry(request: Request) -> RetroHunts:
    with _registry_lock:
        hunts: RetroHunts | None = getattr(request.app.state, "retrohunts", None)
        if hunts is None:
            hunts = request.app.state.retrohunts = RetroHunts()
        return hunts


def _rule(ctx: ApiContext, body: HuntRequest) -> Rule:
    if (body.rule_id is None) == (body.yaml is None):
        raise HTTPException(422, "give either rule_id (a loaded rule) or yaml (a Sigma rule)")
    if body.rule_id is not None:
        loaded: list[Rule] = [*engine(ctx).rules, *ctx.pending_rules.values()]
        for rule in loaded:
            if rule.id == body.rule_id:
                return rule
        raise HTTPException(404, f"no loaded rule has id {body.rule_id!r}")
    assert body.yaml is not None
    result = load_rules([], dict(ctx.config.detection.placeholders), [(None, body.yaml)])
    errors = [f.reason for f in result.failures]
    if not errors and len(result.rules) != 1:
        errors = ["give exactly one Sigma detection rule (correlations cannot be retro-hunted)"]
    if errors:
        raise HTTPException(422, {"message": "the rule cannot be hunted with", "errors": errors})
    return result.rules[0]


@router.post("", status_code=202, summary="start a retro-hunt; poll its progress")
def start_hunt(
    body: HuntRequest, request: Request, p: Annotated[Principal, require("alerts:write")]
) -> dict[str, Any]:
    ctx = context(request)
    rule = _rule(ctx, body)
    until = body.until_ms if body.until_ms is not None else now_ms()
    if body.since_ms > until:
        raise HTTPException(422, "since_ms is after until_ms: nothing to hunt through")
    sensor_ids = [resolve_host(ctx, h).sensor_id for h in body.hosts] if body.hosts else None
    eng = single_rule_engine(rule, ctx.config.detection)
    job = registry(request).start(ctx.store, eng, rule, body.since_ms, until, sensor_ids, p.name)
    ctx.record(
        p,
        "hunt.start",
        target=rule.id,
        detail={"hunt": job.id, "since_ms": body.since_ms, "until_ms": until, "hosts": sensor_ids},
    )
    return job.view()


HUNT_COLUMNS = (
    "id",
    "started_ms",
    "rule_id",
    "title",
    "since_ms",
    "until_ms",
    "requested_by",
    "state",
    "progress",
    "scanned",
    "matches",
    "stored",
    "error",
)


@router.get("", summary="retro-hunts of this process, newest first", response_model=None)
def list_hunts(
    request: Request,
    _p: Annotated[Principal, require("read")],
    page: Page,
    fmt: ListFormat = "json",
) -> dict[str, Any] | Response:
    result = export_page(page, fmt).page(registry(request).list(), lambda j: j.view())
    if fmt == "csv":
        return csv_response("hunts", HUNT_COLUMNS, result["items"])
    return result


@router.get("/{hunt_id}", summary="one retro-hunt and its progress")
def get_hunt(
    hunt_id: str, request: Request, _p: Annotated[Principal, require("read")]
) -> dict[str, Any]:
    job = registry(request).get(hunt_id)
    if job is None:
        raise HTTPException(404, f"no retro-hunt has id {hunt_id!r}")
    return job.view()
