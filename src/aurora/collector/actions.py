"""Requesting a response action: validation, idempotency and audit, for every kind of requester.

The REST route, `aurora isolate` (local mode) and rule-driven response all go through
:func:`request_action`, so a command is checked (against :mod:`aurora.wire.actions`) and audited
the same way whoever asks for it. The stream service then delivers it to the sensor.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from aurora.collector.bus import Bus, CommandQueued
from aurora.collector.store.accounts import AuditEntry, AuditLog
from aurora.collector.store.base import (
    FINAL_COMMAND_STATES,
    CommandRecord,
    Store,
    UnknownHost,
)
from aurora.errors import AuroraError
from aurora.wire.actions import check_request

# A repeated isolate/unisolate while one is still pending returns the pending one: asking twice
# must not queue two firewall changes.
IDEMPOTENT = frozenset({"isolate", "unisolate"})


class ActionRefused(AuroraError):
    """The action cannot be requested for this host (revoked, ambiguous name...)."""


def resolve_sensor(store: Store, host: str) -> str:
    """The one sensor id ``host`` (an id or a hostname) names; ambiguity is refused."""
    ids = store.resolve_host(host)
    if not ids:
        raise UnknownHost(host)
    if len(ids) > 1:
        raise ActionRefused(f"{host!r} names {len(ids)} sensors ({', '.join(ids)}); use an id")
    return ids[0]


def request_action(
    store: Store,
    audit: AuditLog,
    *,
    actor: str,
    host: str,
    action: str,
    params: dict[str, Any],
    ttl_s: int,
    bus: Bus | None = None,
) -> tuple[CommandRecord, bool]:
    """Queue ``action`` for ``host``; return (command, created). Audited either way; a new
    command is announced on ``bus``, so a connected sensor gets it at once."""
    now = int(time.time() * 1000)
    try:
        clean = check_request(action, params)
        sensor_id = resolve_sensor(store, host)
        record = store.get_host(sensor_id)
        if record is not None and record.revoked:
            raise ActionRefused(f"sensor {sensor_id} is revoked; it can no longer run actions")
    except AuroraError as exc:
        audit.append(
            AuditEntry(
                now,
                actor,
                f"action.{action}",
                "",
                host,
                "refused",
                {"error": exc.message, "params": _auditable(params)},
            )
        )
        raise
    if action in IDEMPOTENT:
        for cmd in store.list_commands(sensor_id, limit=50):
            if cmd.action == action and cmd.state not in FINAL_COMMAND_STATES:
                audit.append(
                    AuditEntry(
                        now,
                        actor,
                        f"action.{action}",
                        cmd.command_id,
                        sensor_id,
                        "already pending",
                        {"params": clean},
                    )
                )
                return cmd, False
    command = CommandRecord(
        command_id=uuid.uuid4().hex,
        sensor_id=sensor_id,
        action=action,
        params=clean,
        created_ms=now,
        expires_ms=now + ttl_s * 1000,
        requested_by=actor,
        updated_ms=now,
    )
    store.enqueue_command(command)
    if bus is not None:
        bus.publish(CommandQueued(sensor_id, command.command_id, action))
    audit.append(
        AuditEntry(
            now,
            actor,
            f"action.{action}",
            command.command_id,
            sensor_id,
            "queued",
            {"params": clean},
        )
    )
    return command, True


def _auditable(value: Any) -> Any:
    """Refused params exactly as given, but always storable: the audit log is JSON (orjson),
    which has no integers beyond 64 bits, so those are kept as their decimal text."""
    if isinstance(value, dict):
        return {str(k): _auditable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_auditable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return str(value)
    return value
