"""Response commands: queued in the store, turned into ``Command`` messages, results folded back.

A command is stored first and sent when (or as soon as) its sensor's stream is up, so it survives
a collector restart and waits for an offline sensor until its TTL runs out. Sending is at least
once: a command sent but unanswered when the stream drops is sent again at reconnection; the
sensor's actions are idempotent.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import orjson

from aurora.collector.bus import Bus, CommandQueued
from aurora.collector.store.base import CommandRecord, Store
from aurora.errors import UsageError
from aurora.v1 import stream_pb2
from aurora.wire.action_codec import check_sendable, to_command

_STATUS_STATE = {
    stream_pb2.COMMAND_STATUS_SUCCEEDED: "succeeded",
    stream_pb2.COMMAND_STATUS_FAILED: "failed",
    stream_pb2.COMMAND_STATUS_EXPIRED: "expired",
    stream_pb2.COMMAND_STATUS_UNSUPPORTED: "unsupported",
}


def _now_ms() -> int:
    return int(time.time() * 1000)


def to_message(cmd: CommandRecord) -> stream_pb2.Command:
    """The wire form of a stored command. Unknown params are ignored, missing ones default."""
    return to_command(
        cmd.action,
        cmd.params,
        command_id=cmd.command_id,
        expires_ms=cmd.expires_ms,
        requested_by=cmd.requested_by,
    )


class CommandQueue:
    """Queue commands for sensors; :class:`CommandQueued` on the bus has a live stream send them."""

    def __init__(self, store: Store, default_ttl_s: int, bus: Bus | None = None) -> None:
        self.store = store
        self.default_ttl_s = default_ttl_s
        self.bus = bus

    def enqueue(
        self,
        sensor_id: str,
        action: str,
        params: dict[str, Any] | None = None,
        *,
        ttl_s: int | None = None,
        requested_by: str = "",
    ) -> CommandRecord:
        params = dict(params or {})
        check_sendable(action, params)
        if self.store.get_host(sensor_id) is None:
            raise UsageError(f"no enrolled sensor {sensor_id!r}")
        now = _now_ms()
        ttl = self.default_ttl_s if ttl_s is None else ttl_s
        cmd = CommandRecord(
            command_id=uuid.uuid4().hex,
            sensor_id=sensor_id,
            action=action,
            params=params,
            created_ms=now,
            expires_ms=now + ttl * 1000 if ttl > 0 else 0,
            requested_by=requested_by,
            updated_ms=now,
        )
        self.store.enqueue_command(cmd)
        if self.bus is not None:
            self.bus.publish(CommandQueued(sensor_id, cmd.command_id, action))
        return cmd


def apply_result(store: Store, sensor_id: str, res: stream_pb2.CommandResult) -> str | None:
    """Record a sensor's final answer and return the command's new state; None when the command
    is not this sensor's."""
    cmd = store.get_command(res.command_id)
    if cmd is None or cmd.sensor_id != sensor_id:
        return None
    result: dict[str, Any] = {}
    if res.result_json:
        try:
            parsed = orjson.loads(res.result_json)
            result = parsed if isinstance(parsed, dict) else {"value": parsed}
        except orjson.JSONDecodeError:
            result = {"raw": res.result_json.decode("utf-8", "replace")}
    state = _STATUS_STATE.get(res.status, "failed")
    updated = store.update_command(
        res.command_id,
        now_ms=_now_ms(),
        state=state,
        progress=1.0 if res.status == stream_pb2.COMMAND_STATUS_SUCCEEDED else None,
        error_code=res.error_code,
        message=res.message,
        result=result,
    )
    return state if updated else None


def apply_progress(store: Store, sensor_id: str, prog: stream_pb2.CommandProgress) -> bool:
    cmd = store.get_command(prog.command_id)
    if cmd is None or cmd.sensor_id != sensor_id:
        return False
    fraction = float(prog.fraction)
    return store.update_command(
        prog.command_id,
        now_ms=_now_ms(),
        state="running",
        # A NaN would pass min/max as 1.0 ("done"); it says nothing, so the progress is kept.
        progress=max(0.0, min(1.0, fraction)) if math.isfinite(fraction) else None,
        stage=prog.stage,
    )
