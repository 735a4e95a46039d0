"""Detection results and their OCSF 1.8.0 Detection Finding (class 2004) form.

The engine returns light :class:`Finding` objects on the hot path; :func:`build_finding` turns one
into the alert dict that the collector stores and `aurora scan --format jsonl` prints.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from aurora import __version__

SEVERITY = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_NAME = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
# OCSF finding status_id; "acknowledged" is OCSF's "In Progress".
STATUS = {"new": 1, "acknowledged": 2, "resolved": 4}
STATUS_NAME = {1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved"}

_TECHNIQUE = re.compile(r"^attack\.(t\d{4})(?:\.(\d{3}))?$")
_TACTICS = {
    "reconnaissance": "TA0043",
    "resource_development": "TA0042",
    "initial_access": "TA0001",
    "execution": "TA0002",
    "persistence": "TA0003",
    "privilege_escalation": "TA0004",
    "defense_evasion": "TA0005",
    "credential_access": "TA0006",
    "discovery": "TA0007",
    "lateral_movement": "TA0008",
    "collection": "TA0009",
    "command_and_control": "TA0011",
    "exfiltration": "TA0010",
    "impact": "TA0040",
}
# Evidence objects worth lifting out of the event, so consoles need not dig in `data`.
_EVIDENCE_KEYS = ("actor", "process", "file", "src_endpoint", "dst_endpoint", "query", "script")


class RuleLike(Protocol):
    id: str
    title: str
    level: str
    tags: list[str]
    description: str


@dataclass
class Finding:
    """One rule hit: the rule, the evidence events (several for correlations) and a group key."""

    rule: RuleLike
    events: list[dict[str, Any]]
    kind: str = "sigma"  # sigma | correlation | builtin
    key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def event(self) -> dict[str, Any]:
        return self.events[-1]


def attacks_from_tags(tags: list[str]) -> list[dict[str, Any]]:
    """Sigma `attack.*` tags as OCSF attack objects (one per technique, tactics attached)."""
    tactics = [
        {"name": t[7:].replace("_", " ").title(), "uid": _TACTICS[t[7:].replace("-", "_")]}
        for t in tags
        if t.startswith("attack.") and t[7:].replace("-", "_") in _TACTICS
    ]
    out: list[dict[str, Any]] = []
    for t in tags:
        m = _TECHNIQUE.match(t.lower())
        if not m:
            continue
        attack: dict[str, Any] = {"technique": {"uid": m.group(1).upper()}, "version": "v17"}
        if m.group(2):
            attack["sub_technique"] = {"uid": f"{m.group(1).upper()}.{m.group(2)}"}
        if tactics:
            attack["tactic"] = tactics[0]
            attack["tactics"] = tactics
        out.append(attack)
    if not out and tactics:
        out.append({"tactic": tactics[0], "tactics": tactics, "version": "v17"})
    return out


def _evidence(event: dict[str, Any], ancestry: list[dict[str, Any]] | None) -> dict[str, Any]:
    ev: dict[str, Any] = {k: event[k] for k in _EVIDENCE_KEYS if k in event}
    if ancestry:
        proc = dict(ev.get("process") or {})
        proc["ancestry"] = ancestry
        ev["process"] = proc
    ev["data"] = event
    return ev


def build_finding(
    match: Finding,
    event: dict[str, Any] | None = None,
    host: dict[str, Any] | None = None,
    ancestry: list[dict[str, Any]] | None = None,
    status: str = "new",
) -> dict[str, Any]:
    """The OCSF Detection Finding for ``match`` (``event`` defaults to its last evidence)."""
    rule = match.rule
    event = event if event is not None else match.event
    now = int(time.time() * 1000)
    ev_time = event.get("time") if isinstance(event.get("time"), int) else now
    times = [e["time"] for e in match.events if isinstance(e.get("time"), int)] or [ev_time]
    severity_id = SEVERITY.get(rule.level, 3)
    status_id = STATUS[status]
    device = host if host is not None else event.get("device")
    finding: dict[str, Any] = {
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "time": ev_time,
        "start_time": min(times),
        "end_time": max(times),
        "severity_id": severity_id,
        "severity": SEVERITY_NAME[severity_id],
        "status_id": status_id,
        "status": STATUS_NAME[status_id],
        "is_alert": True,
        "message": rule.title,
        "metadata": {
            "version": "1.8.0",
            "uid": str(uuid.uuid4()),
            "product": {"name": "Aurora EDR", "vendor_name": "Aurora", "version": __version__},
        },
        "finding_info": {
            "uid": str(uuid.uuid4()),
            "title": rule.title,
            "desc": rule.description,
            "created_time": now,
            "first_seen_time": min(times),
            "last_seen_time": max(times),
            "types": [match.kind],
            "analytic": {
                "uid": rule.id,
                "name": rule.title,
                "type_id": 1,
                "type": "Rule",
                "category": match.kind,
            },
            "related_events_count": len(match.events),
        },
        "attacks": attacks_from_tags(rule.tags),
        "evidences": [_evidence(e, ancestry if e is event else None) for e in match.events],
        "unmapped": {
            "rule_level": rule.level,
            "rule_tags": list(rule.tags),
            "group_key": match.key,
        },
    }
    if event not in match.events:
        finding["evidences"].append(_evidence(event, ancestry))
    if device:
        finding["device"] = device
    if match.extra:
        finding["unmapped"].update(match.extra)
    return finding
