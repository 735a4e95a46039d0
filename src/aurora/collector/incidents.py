"""Incidents: the alerts of one host that belong to one attack, grouped and scored.

An incident is the alerts of one host whose evidence shares a process-tree root (the login
session or topmost non-system ancestor, :mod:`aurora.detection.process_tree`), each raised within
``window_ms`` of the previous one. Incidents are derived from the stored alerts when asked for,
not stored themselves: the grouping follows suppression's notion of "one attack", and changing
the window or the tree rules regroups history without a migration. The cost is bounded by the
number of alerts scanned (``SCAN_LIMIT`` newest).

The score orders the queue: ``10 * highest severity + 10 * distinct ATT&CK techniques +
sightings (at most 20)``, so a critical alert outranks a pile of low ones, and breadth of
technique (the mark of a hands-on intruder) counts as much as one severity step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aurora.collector.store.base import AlertRecord, Store
from aurora.detection.process_tree import tree_root

SCAN_LIMIT = 10_000


@dataclass(frozen=True)
class Incident:
    incident_id: int  # the id of its first alert, so it stays put as alerts join
    sensor_id: str
    root: str  # the process-tree root key; "" for an alert whose tree is unknown
    alerts: tuple[AlertRecord, ...]  # oldest first

    @property
    def first_seen_ms(self) -> int:
        return min(a.first_seen_ms for a in self.alerts)

    @property
    def last_seen_ms(self) -> int:
        return max(a.last_seen_ms for a in self.alerts)

    @property
    def severity_id(self) -> int:
        return max(a.severity_id for a in self.alerts)

    @property
    def status(self) -> str:
        """open while any of its alerts is not resolved."""
        return "resolved" if all(a.status == "resolved" for a in self.alerts) else "open"

    @property
    def techniques(self) -> tuple[str, ...]:
        found: dict[str, None] = {}
        for alert in self.alerts:
            for attack in alert.finding.get("attacks") or ():
                uid = ((attack.get("sub_technique") or attack.get("technique")) or {}).get("uid")
                if isinstance(uid, str):
                    found[uid] = None
        return tuple(sorted(found))

    @property
    def tactics(self) -> tuple[str, ...]:
        found: dict[str, None] = {}
        for alert in self.alerts:
            for attack in alert.finding.get("attacks") or ():
                for tactic in attack.get("tactics") or ():
                    if isinstance(tactic, dict) and isinstance(tactic.get("name"), str):
                        found[tactic["name"]] = None
        return tuple(found)

    @property
    def score(self) -> int:
        sightings = sum(a.count for a in self.alerts)
        return 10 * self.severity_id + 10 * len(self.techniques) + min(sightings, 20)

    @property
    def title(self) -> str:
        """The worst alert's title, and how many other rules fired with it."""
        worst = max(self.alerts, key=lambda a: (a.severity_id, -a.first_seen_ms))
        rules = {a.rule_uid for a in self.alerts}
        more = len(rules) - 1
        return worst.title + (f" (+{more} more rule{'s' if more > 1 else ''})" if more else "")


def alert_root(alert: AlertRecord) -> str:
    """The process-tree root of an alert's evidence."""
    for evidence in alert.finding.get("evidences") or ():
        if isinstance(evidence, dict) and (root := tree_root(evidence)):
            return root
    return ""


def group_incidents(alerts: Iterable[AlertRecord], window_ms: int) -> list[Incident]:
    """Group ``alerts`` into incidents, the most recently active first."""
    chains: dict[tuple[str, str], list[list[AlertRecord]]] = {}
    for alert in sorted(alerts, key=lambda a: (a.first_seen_ms, a.alert_id)):
        root = alert_root(alert)
        key = (alert.sensor_id, root or f"alert:{alert.alert_id}")
        groups = chains.setdefault(key, [])
        current = groups[-1] if groups else None
        if (
            current is not None
            and alert.first_seen_ms - max(a.last_seen_ms for a in current) <= window_ms
        ):
            current.append(alert)
        else:
            groups.append([alert])
    incidents = [
        Incident(group[0].alert_id, sensor, "" if root.startswith("alert:") else root, tuple(group))
        for (sensor, root), groups in chains.items()
        for group in groups
    ]
    incidents.sort(key=lambda i: (i.last_seen_ms, i.incident_id), reverse=True)
    return incidents


def list_incidents(
    store: Store,
    window_ms: int,
    *,
    sensor_id: str | None = None,
    since_ms: int | None = None,
) -> list[Incident]:
    """Incidents among the newest ``SCAN_LIMIT`` alerts (of one host when given)."""
    alerts = store.list_alerts(sensor_id=sensor_id, limit=SCAN_LIMIT)
    incidents = group_incidents(alerts, window_ms)
    if since_ms is not None:
        incidents = [i for i in incidents if i.last_seen_ms >= since_ms]
    return incidents


def find_incident(store: Store, incident_id: int, window_ms: int) -> Incident | None:
    first = store.get_alert(incident_id)
    if first is None:
        return None
    for incident in list_incidents(store, window_ms, sensor_id=first.sensor_id):
        if incident.incident_id == incident_id:
            return incident
    return None


def incident_summary(incident: Incident, host_name: str = "") -> dict[str, Any]:
    """The JSON shape of an incident in lists (API, CLI --json)."""
    return {
        "incident_id": incident.incident_id,
        "sensor_id": incident.sensor_id,
        "hostname": host_name,
        "title": incident.title,
        "status": incident.status,
        "score": incident.score,
        "severity_id": incident.severity_id,
        "first_seen_ms": incident.first_seen_ms,
        "last_seen_ms": incident.last_seen_ms,
        "alert_count": len(incident.alerts),
        "sightings": sum(a.count for a in incident.alerts),
        "techniques": list(incident.techniques),
        "tactics": list(incident.tactics),
        "root": incident.root,
        "alert_ids": [a.alert_id for a in incident.alerts],
    }


def timeline(incident: Incident) -> list[dict[str, Any]]:
    """Every alert's evidence in time order: when, which rule, which process did what."""
    rows: list[dict[str, Any]] = []
    for alert in incident.alerts:
        for evidence in alert.finding.get("evidences") or ():
            if not isinstance(evidence, dict):
                continue
            proc = evidence.get("process") or (evidence.get("actor") or {}).get("process") or {}
            rows.append(
                {
                    "time_ms": evidence.get("time") or alert.first_seen_ms,
                    "alert_id": alert.alert_id,
                    "rule": alert.title,
                    "severity_id": alert.severity_id,
                    "class_uid": evidence.get("class_uid"),
                    "pid": proc.get("pid"),
                    "process": proc.get("name") or "",
                    "cmd_line": proc.get("cmd_line") or "",
                }
            )
    rows.sort(key=lambda r: r["time_ms"] if isinstance(r["time_ms"], int) else 0)
    return rows


def joining_tree(incident: Incident) -> list[dict[str, Any]]:
    """The processes of the incident's evidence and their ancestry, each once, in tree order
    (a parent before its children, ``depth`` for indentation): the tree that joins its alerts.
    ``alert_ids`` names the alerts whose evidence is that process."""
    nodes: dict[Any, dict[str, Any]] = {}
    parent_of: dict[Any, Any] = {}
    for alert in incident.alerts:
        for evidence in alert.finding.get("evidences") or ():
            if not isinstance(evidence, dict):
                continue
            proc = evidence.get("process") or (evidence.get("actor") or {}).get("process")
            if not isinstance(proc, dict):
                continue
            chain = [e for e in (proc, *(proc.get("ancestry") or ())) if isinstance(e, dict)]
            keys = [_node_key(e) for e in chain]
            for i, (key, entity) in enumerate(zip(keys, chain, strict=True)):
                node = nodes.setdefault(key, _node(entity))
                if i == 0 and alert.alert_id not in node["alert_ids"]:
                    node["alert_ids"].append(alert.alert_id)
                if i + 1 < len(keys):
                    parent_of.setdefault(key, keys[i + 1])
    children: dict[Any, list[Any]] = {}
    for key in nodes:
        children.setdefault(parent_of.get(key), []).append(key)
    ordered: list[dict[str, Any]] = []

    def visit(key: Any, depth: int) -> None:
        ordered.append(nodes[key] | {"depth": depth})
        for child in sorted(children.get(key, ()), key=lambda k: str(nodes[k]["pid"])):
            visit(child, depth + 1)

    for top in sorted(children.get(None, ()), key=lambda k: str(nodes[k]["pid"])):
        visit(top, 0)
    return ordered


def _node_key(entity: dict[str, Any]) -> Any:
    return entity.get("uid") or (entity.get("pid"), entity.get("created_time"))


def _node(entity: dict[str, Any]) -> dict[str, Any]:
    return {
        "pid": entity.get("pid"),
        "name": entity.get("name") or "",
        "cmd_line": entity.get("cmd_line") or "",
        "alert_ids": [],
    }
