"""Live updates over server-sent events: new alerts, host state changes, action progress.

Each stream subscribes to the collector's bus (:mod:`aurora.collector.bus`) and, when a message
says something changed, reads that thing back from the store and sends its view: the bus says
what changed, the store stays the record. Nothing polls. A process that writes the state
directory without publishing (say, a CLI command in local mode while no collector runs) is seen
on the next page load, not live.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from aurora.api.auth import Principal
from aurora.api.deps import ApiContext, context, require
from aurora.api.views import alert_summary, command_view, host_view
from aurora.collector.bus import (
    AlertRaised,
    CommandQueued,
    CommandUpdated,
    HostChanged,
    Message,
)

router = APIRouter(prefix="/api/v1", tags=["live"])
KEEPALIVE_S = 15.0
#: How often an idle stream checks whether the client left or the server is stopping.
IDLE_CHECK_S = 1.0
#: Changes one client may have waiting; a client that falls this far behind is disconnected
#: (the page reconnects and reloads, which costs less than buffering without bound).
MAX_PENDING = 10_000
TOPICS = (AlertRaised, HostChanged, CommandQueued, CommandUpdated)


def _sse(kind: str, data: Any) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class Watcher:
    """Turns bus messages into the views a client has not seen yet."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self.last_alert = 0
        self.hosts: dict[str, tuple[Any, ...]] = {}
        self.commands: dict[str, tuple[Any, ...]] = {}

    def prime(self) -> None:
        """Remember the newest alert, so a client is sent changes, not history."""
        newest = self.ctx.store.list_alerts(limit=1)
        self.last_alert = newest[0].alert_id if newest else 0

    def changes(self, messages: list[Message]) -> list[bytes]:
        store = self.ctx.store
        out: list[bytes] = []
        if any(isinstance(m, AlertRaised) and not m.suppressed for m in messages):
            fresh = [a for a in store.list_alerts(limit=200) if a.alert_id > self.last_alert]
            if fresh:
                owners = self.ctx.accounts.assignees([a.alert_id for a in fresh])
                for a in sorted(fresh, key=lambda a: a.alert_id):
                    out.append(_sse("alert", alert_summary(a, owners.get(a.alert_id, ""))))
                self.last_alert = max(a.alert_id for a in fresh)
        for sensor_id in dict.fromkeys(m.sensor_id for m in messages if isinstance(m, HostChanged)):
            h = store.get_host(sensor_id)
            if h is None:
                continue
            host_sig = (h.connected, h.health, h.isolation, h.revoked, h.hostname)
            if self.hosts.get(h.sensor_id) != host_sig:
                self.hosts[h.sensor_id] = host_sig
                out.append(_sse("host", host_view(h)))
        commands = (m for m in messages if isinstance(m, CommandQueued | CommandUpdated))
        for command_id in dict.fromkeys(m.command_id for m in commands):
            c = store.get_command(command_id)
            if c is None:
                continue
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
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Message | None] = asyncio.Queue(MAX_PENDING)

    def deliver(message: Message) -> None:
        # Runs on the bus's delivery thread; the queue belongs to this request's loop.
        loop.call_soon_threadsafe(_offer, message)

    def _offer(message: Message | None) -> None:
        try:
            inbox.put_nowait(message)
        except asyncio.QueueFull:
            inbox.get_nowait()  # make room for the end marker
            inbox.put_nowait(None)

    async def events() -> AsyncIterator[bytes]:
        # Subscribed here, not before the response starts, so that the finally below always
        # runs for a subscription that exists; subscribed before priming, so nothing committed
        # after the newest alert primed is missed.
        subscription = ctx.bus.subscribe(TOPICS, deliver)
        try:
            await to_thread.run_sync(watcher.prime)
            yield b"retry: 2000\n\n"
            quiet_since = loop.time()
            while not ctx.stopping.is_set():
                try:
                    first = await asyncio.wait_for(inbox.get(), IDLE_CHECK_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    if loop.time() - quiet_since > KEEPALIVE_S:
                        # A comment line keeps proxies from timing the connection out.
                        yield b": keepalive\n\n"
                        quiet_since = loop.time()
                    continue
                quiet_since = loop.time()
                taken = [first]
                while not inbox.empty():
                    taken.append(inbox.get_nowait())
                batch = [m for m in taken if m is not None]
                if len(batch) < len(taken):
                    return  # fell too far behind: the client reconnects
                for chunk in await to_thread.run_sync(watcher.changes, batch):
                    yield chunk
        finally:
            subscription.close()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
