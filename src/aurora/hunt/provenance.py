"""Where a finding came from and why it fired: the source record and the rule's matched fields.

A finding of `aurora scan` carries its origin (file, record id, channel, computer, event time)
and, per field test of the rule that held on the event, the field and its value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aurora.detection.matched import matched_fields

__all__ = ["attach", "event_time", "matched_fields", "source_of"]


def source_of(event: dict[str, Any], path: Path, record: int, kind: str) -> dict[str, Any]:
    """The origin of ``event``: its EventRecordID (System element) when it has one, else
    ``record``: the EVTX record header's number, or the JSON line it starts on (kept as
    ``line`` for JSON either way)."""
    meta, raw, device = (_object(event.get(key)) for key in ("metadata", "unmapped", "device"))
    origin: dict[str, Any] = {
        "file": str(path),
        "record_id": int(meta["uid"]) if _is_number(meta.get("uid")) else record,
        "channel": str(meta.get("log_name") or ""),
        "computer": str(device.get("hostname") or ""),
        "event_id": str(meta.get("event_code") or raw.get("EventID") or ""),
        "event_time": event_time(event),
    }
    if kind == "json":
        origin["line"] = record
    return origin


def event_time(event: dict[str, Any]) -> int | None:
    """The event's time in ms, or None: the normaliser writes 0 for a record without one."""
    t = event.get("time")
    return t if isinstance(t, int) and t > 0 else None


def _object(value: Any) -> dict[str, Any]:
    # JSON input may put anything anywhere; a field that is not an object holds nothing
    return value if isinstance(value, dict) else {}


def _is_number(value: Any) -> bool:
    return isinstance(value, str) and value.isdigit()


def attach(finding: dict[str, Any], origin: dict[str, Any], matched: list[dict[str, Any]]) -> None:
    """Put the origin where OCSF has room for it and both in ``unmapped`` for tools."""
    finding["metadata"]["log_name"] = origin["channel"]
    finding["metadata"]["log_source"] = origin["file"]
    if not isinstance(finding.get("device"), dict):
        finding["device"] = {}
    finding["device"].setdefault("hostname", origin["computer"])
    finding["unmapped"]["source"] = origin
    finding["unmapped"]["matched_fields"] = matched
