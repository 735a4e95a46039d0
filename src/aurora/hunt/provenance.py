"""Where a finding came from and why it fired: the source record and the rule's matched fields.

A finding of `aurora scan` carries its origin (file, record id, channel, computer, event time)
and, per field test of the rule that held on the event, the field and its value.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aurora.detection.ir import Node, Test
from aurora.detection.predicates import lazy_predicate, make_getter
from aurora.detection.rules import Rule
from aurora.ocsf.field_mapping import Route

MAX_VALUE_CHARS = 300  # a matched value longer than this is cut, so one row stays readable


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


def _positive_tests(node: Node) -> Iterator[tuple[str, Test]]:
    # Tests under a NOT held because their field did *not* match: they explain nothing.
    op = node[0]
    if op in ("and", "or"):
        for child in node[1]:
            yield from _positive_tests(child)
    elif op == "test" and node[1] is not None:
        yield node[1], node[2]


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "..."
    return value


def matched_fields(rule: Rule, event: dict[str, Any], route: Route) -> list[dict[str, Any]]:
    """Each field test of ``rule`` that holds on ``event``: field, OCSF path, value and the
    rule's selections that test the field, once per field."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for field, test in _positive_tests(rule.ir):
        if field in seen:
            continue
        path = route.path(field)
        get = make_getter(path)
        try:
            held = lazy_predicate(test, get, lambda f: make_getter(route.path(f)), memo=1)(event)
        except (ValueError, TypeError):
            continue
        if held:
            seen.add(field)
            selections = [name for name, fields in rule.selections.items() if field in fields]
            value = _short(get(event))
            out.append({"field": field, "path": path, "value": value, "selections": selections})
    return out


def attach(finding: dict[str, Any], origin: dict[str, Any], matched: list[dict[str, Any]]) -> None:
    """Put the origin where OCSF has room for it and both in ``unmapped`` for tools."""
    finding["metadata"]["log_name"] = origin["channel"]
    finding["metadata"]["log_source"] = origin["file"]
    if not isinstance(finding.get("device"), dict):
        finding["device"] = {}
    finding["device"].setdefault("hostname", origin["computer"])
    finding["unmapped"]["source"] = origin
    finding["unmapped"]["matched_fields"] = matched
