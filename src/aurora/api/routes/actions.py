"""Response actions: request one for a host, follow its status, fetch a triage package."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel

from aurora.api.auth import Principal
from aurora.api.deps import Page, context, require, resolve_host
from aurora.api.views import command_view
from aurora.collector.actions import request_action
from aurora.collector.store.base import UnknownHost
from aurora.errors import AuroraError, UsageError
from aurora.wire.actions import REQUESTABLE

router = APIRouter(prefix="/api/v1", tags=["actions"])


if TYPE_CHECKING:
    ActionName = str
else:
    # The registry's list, as a Literal, so an unknown action is refused (and the OpenAPI schema
    # lists the choices) before anything is audited, exactly as a hand-written Literal would.
    ActionName = Literal[REQUESTABLE]


class ActionBody(BaseModel):
    action: ActionName
    params: dict[str, Any] = {}


@router.post("/hosts/{host}/actions", status_code=202, summary="request a response action")
def post_action(
    host: str,
    body: ActionBody,
    request: Request,
    p: Annotated[Principal, require("respond")],
) -> dict[str, Any]:
    ctx = context(request)
    try:
        command, created = request_action(
            ctx.store,
            ctx.audit,
            actor=p.name,
            host=host,
            action=body.action,
            params=body.params,
            ttl_s=ctx.config.response.command_ttl_s,
            bus=ctx.bus,
        )
    except UnknownHost as exc:
        raise HTTPException(404, exc.message) from None
    except UsageError as exc:
        raise HTTPException(422, exc.message) from None
    except AuroraError as exc:
        raise HTTPException(409, exc.message) from None
    view = command_view(command)
    view["created"] = created
    return view


@router.get("/actions", summary="recent response actions, newest first")
def list_actions(
    request: Request,
    _p: Annotated[Principal, require("read")],
    page: Page,
    host: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    ctx = context(request)
    sensor_id = resolve_host(ctx, host).sensor_id if host else None
    return page.page(ctx.store.list_commands(sensor_id, limit=page.window()), command_view)


def _command(request: Request, command_id: str) -> Any:
    cmd = context(request).store.get_command(command_id)
    if cmd is None:
        raise HTTPException(404, f"no response action {command_id}")
    return cmd


@router.get("/actions/{command_id}", summary="status and result of one action")
def get_action(
    command_id: Annotated[str, "command id"],
    request: Request,
    _p: Annotated[Principal, require("read")],
) -> dict[str, Any]:
    view = command_view(_command(request, command_id))
    upload = context(request).store.get_upload(command_id)
    view["upload"] = (
        {"size": upload.size, "sha256": upload.sha256, "complete": upload.complete}
        if upload
        else None
    )
    return view


@router.get(
    "/actions/{command_id}/download",
    summary="download the file an action produced (triage package)",
    response_class=FileResponse,
)
def download(
    command_id: str,
    request: Request,
    p: Annotated[Principal, require("triage:download")],
) -> FileResponse:
    ctx = context(request)
    cmd = _command(request, command_id)
    upload = ctx.store.get_upload(command_id)
    if upload is None or not upload.complete:
        raise HTTPException(404, f"action {command_id} has no complete upload (yet)")
    path = Path(upload.path).resolve()
    # Serve only from the collector's own upload area, whatever a row says.
    if not path.is_relative_to(ctx.state_dir.resolve()) or not path.is_file():
        raise HTTPException(404, f"the upload of action {command_id} is missing on disk")
    ctx.record(p, "action.download", target=command_id, host=cmd.sensor_id)
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=f"triage-{cmd.sensor_id}-{command_id}{''.join(path.suffixes) or '.bin'}",
    )
