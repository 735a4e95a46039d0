"""JSON shapes the API returns for store records, in one place so the console, the CLI and the
docs agree on them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aurora.api.host_state import (
    HOOK_HEALTH,
    failed_capabilities,
    health_reasons,
    hook_health,
    isolation_actions,
    isolation_state,
)
from aurora.collector.store.accounts import AuditEntry, CommentRecord, UserRecord
from aurora.collector.store.base import (
    FINAL_COMMAND_STATES,
    AlertRecord,
    CommandRecord,
    HostRecord,
    StoredEvent,
)

SEVERITY_NAMES = {
    0: "unknown",
    1: "informational",
    2: "low",
    3: "medium",
    4: "high",
    5: "critical",
    6: "fatal",
}


def host_view(h: HostRecord, isolate_pending: bool = False) -> dict[str, Any]:
    view = asdict(h)
    view["hook_health"] = hook_health(h)
    view["capabilities"] = [c for c in h.capabilities if c.get("name") != HOOK_HEALTH]
    view["ip_addresses"] = list(h.ip_addresses)
    view["failed_capabilities"] = failed_capabilities(h)
    view["health_reasons"] = health_reasons(h)
    view["isolation_actions"] = isolation_actions(h, isolate_pending)
    view["isolation"] = isolation_state(h, isolate_pending)
    return view


def host_health(h: HostRecord) -> dict[str, Any]:
    return {
        "sensor_id": h.sensor_id,
        "health": h.health,
        "connected": h.connected,
        "last_seen_ms": h.last_seen_ms,
        "spool_bytes": h.spool_bytes,
        "spool_max_bytes": h.spool_max_bytes,
        "queue_depth": h.queue_depth,
        "drops_kernel": h.drops_kernel,
        "drops_spool_evicted": h.drops_spool_evicted,
        "drops_spool_corrupt": h.drops_spool_corrupt,
        "drops_plugin": h.drops_plugin,
        "high_water": h.high_water,
        "counters": dict(h.counters),
    }


def alert_summary(a: AlertRecord, assignee: str = "") -> dict[str, Any]:
    finding = a.finding
    device = finding.get("device") or {}
    return {
        "alert_id": a.alert_id,
        "rule_uid": a.rule_uid,
        "title": a.title,
        "sensor_id": a.sensor_id,
        "hostname": device.get("hostname", "") if isinstance(device, dict) else "",
        "severity_id": a.severity_id,
        "severity": SEVERITY_NAMES.get(a.severity_id, "unknown"),
        "status": a.status,
        "assignee": assignee,
        "first_seen_ms": a.first_seen_ms,
        "last_seen_ms": a.last_seen_ms,
        "count": a.count,
        "attacks": [
            (t.get("technique") or {}).get("uid", "")
            for t in finding.get("attacks") or []
            if isinstance(t, dict)
        ],
    }


def evidence_process(finding: dict[str, Any]) -> dict[str, Any] | None:
    """The process the finding is about (from its evidence), or None."""
    for ev in finding.get("evidences") or []:
        if isinstance(ev, dict) and isinstance(ev.get("process"), dict):
            return dict(ev["process"])
        data = ev.get("data") if isinstance(ev, dict) else None
        if isinstance(data, dict) and isinstance(data.get("process"), dict):
            return dict(data["process"])
    return None


def event_view(e: StoredEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "sensor_id": e.sensor_id,
        "seq": e.seq,
        "time_ms": e.time_ms,
        "class_uid": e.class_uid,
        "class_name": e.event.get("class_name", ""),
        "hostname": e.hostname,
        "pid": e.pid,
        "process_name": e.process_name,
        "event": e.event,
    }


def command_view(cmd: CommandRecord) -> dict[str, Any]:
    """A response action as JSON, with ``final`` saying whether its state can still change."""
    view = asdict(cmd)
    view["final"] = cmd.state in FINAL_COMMAND_STATES
    return view


def user_view(u: UserRecord) -> dict[str, Any]:
    return {"name": u.name, "role": u.role, "created_ms": u.created_ms}


def comment_view(c: CommentRecord) -> dict[str, Any]:
    return asdict(c)


def audit_view(a: AuditEntry) -> dict[str, Any]:
    return asdict(a)


def rule_view(rule: Any, disabled: set[str]) -> dict[str, Any]:
    return {
        "id": rule.id,
        "title": rule.title,
        "level": rule.level,
        "tags": list(rule.tags),
        "logsource": dict(rule.logsource),
        "status": rule.status,
        "description": rule.description,
        "references": list(getattr(rule, "references", [])),
        "path": str(rule.path) if rule.path else "",
        "enabled": bool(rule.enabled) and rule.id not in disabled,
    }
