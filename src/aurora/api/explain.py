"""What the alert page needs to explain an alert: the rule behind it (description, references,
known false positives), its ATT&CK techniques with links, the fields that matched, the alerts
raised on the same process tree, and the actions that apply from there.
"""

from __future__ import annotations

from typing import Any

from aurora.api.deps import ApiContext
from aurora.api.host_state import isolation_actions
from aurora.api.rbac import allowed
from aurora.api.views import alert_summary, evidence_process
from aurora.collector.store.base import AlertRecord
from aurora.detection.matched import matched_fields
from aurora.detection.rules import Rule
from aurora.ocsf.field_mapping import default_mapping

ATTACK_URL = "https://attack.mitre.org"
RELATED_WINDOW_MS = 3_600_000  # related alerts are looked for an hour either side
RELATED_SCAN = 1000


def _rule(ctx: ApiContext, rule_id: str) -> Rule | None:
    from aurora.api.routes.rules import engine  # the routes import this module's callers

    for rule in engine(ctx).rules:
        if rule.id == rule_id:
            return rule  # type: ignore[no-any-return]
    return None


def attack_links(finding: dict[str, Any]) -> list[dict[str, Any]]:
    """Each technique (or tactic) of the finding with its page on attack.mitre.org."""
    out = []
    for attack in finding.get("attacks") or []:
        if not isinstance(attack, dict):
            continue
        uid = str((attack.get("sub_technique") or attack.get("technique") or {}).get("uid", ""))
        tactics = [
            {
                "uid": str(t.get("uid", "")),
                "name": str(t.get("name", "")),
                "url": f"{ATTACK_URL}/tactics/{t.get('uid', '')}/",
            }
            for t in attack.get("tactics") or []
            if isinstance(t, dict)
        ]
        url = f"{ATTACK_URL}/techniques/{uid.replace('.', '/')}/" if uid else ""
        out.append({"uid": uid, "url": url, "tactics": tactics})
    return out


def evidence_event(finding: dict[str, Any]) -> dict[str, Any] | None:
    for ev in finding.get("evidences") or []:
        if isinstance(ev, dict) and isinstance(ev.get("data"), dict):
            return dict(ev["data"])
    return None


def _tree_pids(tree: dict[str, Any] | None) -> set[int]:
    if not tree:
        return set()
    nodes = [
        tree.get("process") or {},
        *(tree.get("ancestors") or []),
        *(tree.get("children") or []),
    ]
    return {n["pid"] for n in nodes if isinstance(n, dict) and isinstance(n.get("pid"), int)}


def related_alerts(
    ctx: ApiContext, alert: AlertRecord, tree: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Other alerts of the same host whose process is in this alert's process tree."""
    pids = _tree_pids(tree)
    if not pids:
        return []
    candidates = ctx.store.list_alerts(
        sensor_id=alert.sensor_id,
        since_ms=alert.first_seen_ms - RELATED_WINDOW_MS,
        limit=RELATED_SCAN,
    )
    out = []
    for other in candidates:
        if other.alert_id == alert.alert_id:
            continue
        if other.first_seen_ms > alert.last_seen_ms + RELATED_WINDOW_MS:
            continue
        proc = evidence_process(other.finding) or {}
        if proc.get("pid") in pids:
            out.append(alert_summary(other))
    return out


def available_actions(
    ctx: ApiContext, alert: AlertRecord, role: str, event: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """What the caller may do from this alert, each with the parameters it would be sent with."""
    actions: list[dict[str, Any]] = []
    if allowed(role, "alerts:write"):
        actions += [
            {"action": a, "label": label}
            for a, label in (
                ("acknowledge", "Acknowledge"),
                ("resolve", "Resolve"),
                ("assign", "Assign"),
                ("comment", "Comment"),
                ("retro-hunt", "Retro-hunt this rule"),
            )
        ]
    host = ctx.store.get_host(alert.sensor_id)
    if allowed(role, "respond") and host is not None:
        proc = evidence_process(alert.finding) or {}
        if isinstance(proc.get("pid"), int):
            actions.append(
                {
                    "action": "kill",
                    "label": f"Kill pid {proc['pid']}",
                    "params": {"pid": proc["pid"], "tree": False},
                }
            )
        path = ((event or {}).get("file") or {}).get("path")
        if isinstance(path, str) and path:
            actions.append(
                {"action": "quarantine", "label": f"Quarantine {path}", "params": {"path": path}}
            )
        actions += [
            {"action": a, "label": a.capitalize(), "params": {}} for a in isolation_actions(host)
        ]
        actions.append({"action": "triage", "label": "Triage", "params": {}})
    if allowed(role, "rules:write"):
        actions.append({"action": "tune", "label": "Tune this rule (add an exception)"})
    return actions


def explain(
    ctx: ApiContext, alert: AlertRecord, tree: dict[str, Any] | None, role: str
) -> dict[str, Any]:
    finding = alert.finding
    rule = _rule(ctx, alert.rule_uid)
    event = evidence_event(finding)
    matched: list[dict[str, Any]] = []
    if rule is not None and event is not None:
        matched = matched_fields(rule, event, default_mapping().route_of(event))
    info = finding.get("finding_info") or {}
    return {
        "rule": {
            "id": alert.rule_uid,
            "title": rule.title if rule else str(info.get("title", alert.title)),
            "description": rule.description if rule else str(info.get("desc", "")),
            "references": list(rule.references) if rule else [],
            "falsepositives": list(rule.falsepositives) if rule else [],
            "level": rule.level if rule else "",
            "author": rule.author if rule else "",
            "loaded": rule is not None,
        },
        "attacks": attack_links(finding),
        "matched_fields": matched,
        "related": related_alerts(ctx, alert, tree),
        "actions": available_actions(ctx, alert, role, event),
        "retro_hunt": (finding.get("unmapped") or {}).get("retro_hunt"),
    }
