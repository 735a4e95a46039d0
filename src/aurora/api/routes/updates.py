"""Sensor update rollouts: stage one (the package is the request body), list them, follow one."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from aurora.api.auth import Principal
from aurora.api.deps import ApiContext, Page, context, require
from aurora.collector.actions import ActionRefused
from aurora.collector.rollouts import DEFAULT_CONFIRM_S, Rollouts, rollout_view
from aurora.collector.store.base import UnknownHost
from aurora.errors import UsageError

router = APIRouter(prefix="/api/v1", tags=["updates"])

MAX_PACKAGE_BYTES = 512 * 1024**2


def rollouts_of(ctx: ApiContext) -> Rollouts:
    return Rollouts.over(ctx.store, ctx.state_dir, ctx.config.response.command_ttl_s, ctx.bus)


async def _receive(request: Request, dest: Path) -> int:
    """Write the request body to ``dest``, refusing one above the package size limit."""
    size = 0
    with dest.open("wb") as out:
        async for block in request.stream():
            size += len(block)
            if size > MAX_PACKAGE_BYTES:
                raise HTTPException(413, f"a package may have at most {MAX_PACKAGE_BYTES} bytes")
            out.write(block)
    return size


@router.post(
    "/rollouts",
    status_code=202,
    summary="stage a signed sensor package for hosts (the body is the package file)",
)
async def post_rollout(
    request: Request,
    p: Annotated[Principal, require("sensors:update")],
    host: Annotated[list[str], Query(max_length=200)] = [],  # noqa: B006 - FastAPI reads a copy
    all_hosts: Annotated[bool, Query(alias="all")] = False,
    percent: Annotated[int, Query(ge=1, le=100)] = 100,
    confirm_within_s: Annotated[int, Query(ge=1, le=86_400)] = DEFAULT_CONFIRM_S,
) -> dict[str, Any]:
    ctx = context(request)
    if all_hosts == bool(host):
        raise HTTPException(422, "name hosts with host=... or pass all=true, not both")
    incoming = ctx.state_dir / "packages"
    incoming.mkdir(mode=0o700, parents=True, exist_ok=True)
    upload = incoming / f".upload-{uuid.uuid4().hex}"
    try:
        if await _receive(request, upload) == 0:
            raise HTTPException(422, "the request body must be the package file")
        rollout = rollouts_of(ctx).stage(
            upload,
            None if all_hosts else host,
            percent=percent,
            requested_by=p.name,
            confirm_within_s=confirm_within_s,
            label="the uploaded package",
        )
    except UnknownHost as exc:
        raise HTTPException(404, exc.message) from None
    except (UsageError, ActionRefused) as exc:
        ctx.record(p, "update.stage", result="refused", detail={"error": exc.message})
        raise HTTPException(422, exc.message) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(upload)
    ctx.record(
        p,
        "update.stage",
        target=rollout.rollout_id,
        detail={"version": rollout.version, "hosts": [t.sensor_id for t in rollout.targets]},
    )
    return rollout_view(ctx.store, rollout)


@router.get("/rollouts", summary="sensor update rollouts, newest first, with per-host outcome")
def list_rollouts(
    request: Request, _p: Annotated[Principal, require("read")], page: Page
) -> dict[str, Any]:
    store = context(request).store
    return page.page(store.list_rollouts(limit=page.window()), lambda r: rollout_view(store, r))


@router.get("/rollouts/{rollout_id}", summary="one rollout: progress and outcome per host")
def get_rollout(
    rollout_id: Annotated[str, "rollout id"],
    request: Request,
    _p: Annotated[Principal, require("read")],
) -> dict[str, Any]:
    store = context(request).store
    rollout = store.get_rollout(rollout_id)
    if rollout is None:
        raise HTTPException(404, f"no rollout {rollout_id}")
    return rollout_view(store, rollout)
