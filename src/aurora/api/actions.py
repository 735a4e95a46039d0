"""Requesting response actions: validation, idempotency and audit, shared by the API and the CLI.

Both the REST route and `aurora isolate` (local mode) go through :func:`request_action`, so a
command is checked and audited the same way whoever asks for it. The collector's stream service
delivers the queued command to the sensor and records progress and results in the store.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict
from typing import Any

from aurora.collector.bus import Bus, CommandQueued
from aurora.collector.store.accounts import AuditEntry, AuditLog
from aurora.collector.store.base import (
    FINAL_COMMAND_STATES,
    CommandRecord,
    Store,
    UnknownHost,
)
from aurora.errors import AuroraError, UsageError

ACTIONS = ("isolate", "unisolate", "kill", "quarantine", "restore", "triage")
# A repeated isolate/unisolate while one is still pending returns the pending one: asking twice
# must not queue two firewall changes.
IDEMPOTENT = frozenset({"isolate", "unisolate"})
MAX_PID = 2**32 - 1


class ActionRefused(AuroraError):
    """The action cannot be requested for this host (revoked, ambiguous name...)."""


def validate_params(action: str, params: dict[str, Any]) -> dict[str, Any]:
    """Normalised parameters for ``action``; :class:`UsageError` names the bad one."""
    if action not in ACTIONS:
        raise UsageError(f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}")
    p = dict(params)
    allowed_keys = {
        "isolate": set(),
        "unisolate": set(),
        "kill": {"pid", "start_time_unix_ms", "start_time", "tree"},
        "quarantine": {"path"},
        "restore": {"quarantine_id"},
        "triage": {"artifacts", "max_bytes"},
    }[action]
    extra = sorted(set(p) - allowed_keys)
    if extra:
        raise UsageError(f"{action}: unknown parameter {extra[0]!r}")
    if action == "kill":
        pid = p.get("pid")
        if isinstance(pid, bool) or not isinstance(pid, int) or not 1 < pid <= MAX_PID:
            raise UsageError("kill: pid must be an integer above 1 (pid 1 is never killed)")
        # The proto names it start_time_unix_ms; the stored command (read by the collector's
        # commands.to_message and the sensor's dispatcher) calls it start_time.
        start = p.get("start_time_unix_ms", p.get("start_time", 0))
        if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start < 2**62:
            raise UsageError("kill: start_time_unix_ms must be a non-negative integer")
        tree = p.get("tree", False)
        if not isinstance(tree, bool):
            raise UsageError("kill: tree must be true or false")
        return {"pid": pid, "start_time": start, "tree": tree}
    if action == "quarantine":
        path = p.get("path")
        if not isinstance(path, str) or not path.startswith("/") or "\x00" in path:
            raise UsageError("quarantine: path must be an absolute file path")
        return {"path": path}
    if action == "restore":
        qid = p.get("quarantine_id")
        if not isinstance(qid, str) or not qid.strip() or len(qid) > 200:
            raise UsageError("restore: quarantine_id must be a non-empty string")
        return {"quarantine_id": qid.strip()}
    if action == "triage":
        artifacts = p.get("artifacts", [])
        if not isinstance(artifacts, list) or not all(
            isinstance(a, str) and a and len(a) <= 200 for a in artifacts
        ):
            raise UsageError("triage: artifacts must be a list of artifact names")
        out: dict[str, Any] = {"artifacts": artifacts}
        if "max_bytes" in p:
            mb = p["max_bytes"]
            if isinstance(mb, bool) or not isinstance(mb, int) or not 0 < mb < 2**63:
                raise UsageError("triage: max_bytes must be a positive integer")
            out["max_bytes"] = mb
        return out
    return {}


def resolve_sensor(store: Store, host: str) -> str:
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
        clean = validate_params(action, params)
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


def command_view(cmd: CommandRecord) -> dict[str, Any]:
    view = asdict(cmd)
    view["final"] = cmd.state in FINAL_COMMAND_STATES
    return view
