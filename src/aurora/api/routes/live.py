"""Live updates over server-sent events: new alerts, host state changes, action progress.

The stream polls the store (every ``[api] live_poll_interval_s``) instead of listening to the
collector in-process, so it sees changes whichever process wrote them: the collector, the CLI
working on the state directory, or another collector over a shared database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from aurora.api.actions import command_view
from aurora.api.auth import Principal
from aurora.api.deps import ApiContext, context, require
from aurora.api.views import alert_summary, host_view

router = APIRouter(prefix="/api/v1", tags=["live"])
KEEPALIVE_S = 15.0


def _sse(kind: str, data: Any) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class Watcher:
    """Remembers what the client has seen and reports what changed since."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self.last_alert = 0
        self.hosts: dict[str, tuple[Any, ...]] = {}
        self.commands: dict[str, tuple[Any, ...]] = {}

    def prime(self) -> None:
        self.poll()

    def poll(self) -> list[bytes]:
        store = self.ctx.store
        out: list[bytes] = []
        fresh = [a for a in store.list_alerts(limit=200) if a.alert_id > self.last_alert]
        if fresh:
            owners = self.ctx.accounts.assignees([a.alert_id for a in fresh])
            for a in sorted(fresh, key=lambda a: a.alert_id):
                out.append(_sse("alert", alert_summary(a, owners.get(a.alert_id, ""))))
            self.last_alert = max(a.alert_id for a in fresh)
        for h in store.list_hosts():
            host_sig = (h.connected, h.health, h.isolation, h.revoked, h.hostname)
            if self.hosts.get(h.sensor_id) != host_sig:
                self.hosts[h.sensor_id] = host_sig
                out.append(_sse("host", host_view(h)))
        for c in store.list_commands(limit=100):
            cmd_sig = (c.state, c.progress, c.stage, c.message)
            if self.commands.get(c.command_id) != cmd_sig:
                self.commands[c.command_id] = cmd_sig
                out.append(_sse("action", command_view(c)))
        return out


@router.get(
    "/stream",
    summary="server-sent events: alert, host, action",
    response_class=StreamingResponse,
)
async def stream(
    request: Request,
    _p: Annotated[Principal, require("read")],
) -> StreamingResponse:
    ctx = context(request)
    watcher = Watcher(ctx)
    # The first poll only records the present, so a client is sent changes, not history.
    await to_thread.run_sync(watcher.prime)
    interval = ctx.config.api.live_poll_interval_s

    async def events() -> AsyncIterator[bytes]:
        yield b"retry: 2000\n\n"
        quiet_since = time.monotonic()
        while not ctx.stopping.is_set():
            if await request.is_disconnected():
                return
            chunks = await to_thread.run_sync(watcher.poll)
            for chunk in chunks:
                yield chunk
            if chunks:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > KEEPALIVE_S:
                # A comment line keeps proxies from timing the connection out.
                yield b": keepalive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(interval)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
