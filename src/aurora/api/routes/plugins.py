"""Sensor plugins through the API: enable a manifest on one host or all, remove a plugin, list
where each plugin stands. The same audited change as `aurora plugin` on a state directory
(:mod:`aurora.collector.plugin_admin`); administrators change, every role may read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from aurora.api.auth import Principal
from aurora.api.deps import ApiContext, Page, context, require, resolve_host
from aurora.api.views import command_view
from aurora.collector.plugin_admin import PluginState, plugin_states, request_change
from aurora.collector.store.base import CommandRecord, UnknownHost
from aurora.errors import AuroraError, UsageError
from aurora.plugins.manifest import MANIFEST_MAX_BYTES, ManifestError, from_toml, valid_name

router = APIRouter(prefix="/api/v1", tags=["plugins"])

HostName = Annotated[str | None, Query(max_length=200, description="sensor id or hostname")]


class PluginAdd(BaseModel):
    manifest_toml: str = Field(max_length=MANIFEST_MAX_BYTES, description="the manifest (TOML)")
    host: str | None = Field(default=None, max_length=200)
    all: bool = False


def _state_view(state: PluginState) -> dict[str, Any]:
    return {**state.__dict__, "enabled": state.enabled}


def _change(
    ctx: ApiContext,
    p: Principal,
    op: Literal["add", "remove"],
    name: str,
    body: dict[str, Any],
) -> dict[str, Any]:
    try:
        queued: list[CommandRecord] = request_change(
            ctx.store,
            ctx.audit,
            actor=p.name,
            op=op,
            ttl_s=ctx.config.response.command_ttl_s,
            bus=ctx.bus,
            name=name,
            **body,
        )
    except UnknownHost as exc:
        raise HTTPException(404, exc.message) from None
    except UsageError as exc:
        raise HTTPException(422, exc.message) from None
    except AuroraError as exc:
        raise HTTPException(409, exc.message) from None
    return {"items": [command_view(c) for c in queued]}


@router.get("/plugins", summary="each plugin's latest change on each host")
def list_plugins(
    request: Request,
    _p: Annotated[Principal, require("read")],
    page: Page,
    host: HostName = None,
) -> dict[str, Any]:
    ctx = context(request)
    states = plugin_states(ctx.store)
    if host:
        sensor_id = resolve_host(ctx, host).sensor_id
        states = [s for s in states if s.sensor_id == sensor_id]
    return page.page(states, _state_view)


@router.post("/plugins", status_code=202, summary="enable a plugin manifest on sensors")
def add_plugin(
    body: PluginAdd,
    request: Request,
    p: Annotated[Principal, require("plugins:manage")],
) -> dict[str, Any]:
    ctx = context(request)
    try:
        manifest = from_toml(body.manifest_toml)
    except ManifestError as exc:
        ctx.record(
            p, "plugin.add", host=body.host or "*", result="refused", detail={"error": exc.message}
        )
        raise HTTPException(422, exc.message) from None
    where = {"manifest": manifest, "host": body.host, "all_hosts": body.all}
    return _change(ctx, p, "add", manifest.name, where)


@router.delete("/plugins/{name}", status_code=202, summary="remove a plugin from sensors")
def remove_plugin(
    name: Annotated[str, "plugin name"],
    request: Request,
    p: Annotated[Principal, require("plugins:manage")],
    host: HostName = None,
    all: Annotated[bool, Query(description="every enrolled, unrevoked host")] = False,
) -> dict[str, Any]:
    ctx = context(request)
    if not valid_name(name):
        why = f"{name!r:.80} is not a plugin name (1-64 of a-z 0-9 _ . -)"
        ctx.record(p, "plugin.remove", host=host or "*", result="refused", detail={"error": why})
        raise HTTPException(422, why)
    where = {"manifest": None, "host": host, "all_hosts": all}
    return _change(ctx, p, "remove", name, where)
