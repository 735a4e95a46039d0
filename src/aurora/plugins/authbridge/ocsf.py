"""Authentication records -> OCSF 1.8.0 Authentication (3002) events."""

from __future__ import annotations

from typing import Any

from aurora.plugins.authbridge.parse import AuthRecord

AUTHENTICATION = 3002
LOGON, LOGOFF = 1, 2
STATUS_SUCCESS, STATUS_FAILURE = 1, 2
LOGON_INTERACTIVE, LOGON_REMOTE_INTERACTIVE = 2, 10
AUTH_PROTOCOL_OTHER = 99


def to_event(record: AuthRecord, time_ms: int, pid: int = 0) -> dict[str, Any]:
    remote = record.service != "sudo" and record.service != "su"
    event: dict[str, Any] = {
        "class_uid": AUTHENTICATION,
        "activity_id": LOGOFF if record.logoff else LOGON,
        "time": time_ms,
        "status_id": STATUS_SUCCESS if record.success else STATUS_FAILURE,
        "status": "Success" if record.success else "Failure",
        "user": {"name": record.user},
        "service": {"name": record.service},
        "is_remote": remote,
        "logon_type_id": LOGON_REMOTE_INTERACTIVE if remote else LOGON_INTERACTIVE,
        "severity_id": 1 if record.success else 2,
    }
    if record.detail:
        event["status_detail"] = record.detail
    if record.src_ip:
        event["src_endpoint"] = {"ip": record.src_ip, "port": record.src_port}
    if record.method:
        event["auth_protocol_id"] = AUTH_PROTOCOL_OTHER
        event["auth_protocol"] = record.method
    actor: dict[str, Any] = {}
    if record.actor:
        actor["user"] = {"name": record.actor}
    if pid:
        actor["process"] = {"pid": pid, "name": record.service}
    if actor:
        event["actor"] = actor
    unmapped = {k: v for k, v in (("command", record.command), ("tty", record.tty)) if v}
    if unmapped:
        event["unmapped"] = unmapped
    return event
