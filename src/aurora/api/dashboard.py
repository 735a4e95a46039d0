"""The dashboard's figures, computed from the store in one place: the JSON route returns them
and the console page renders them server-side, so both always agree."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aurora.api.host_state import is_isolated
from aurora.api.views import SEVERITY_NAMES
from aurora.collector.incidents import list_incidents
from aurora.collector.store.base import AlertRecord, Store
from aurora.config.detection import DetectionConfig

HOUR_MS = 3_600_000
WINDOW_HOURS = 24
# The dashboard reads at most this many alerts per question; beyond it the figures say so
# ("truncated") rather than take the collector down counting.
SCAN_LIMIT = 50_000
TOP = 10
OPEN_STATUSES = ("new", "acknowledged")
DEFAULT_INCIDENT_WINDOW_MS = DetectionConfig().incident_window_s * 1000


def build_dashboard(
    store: Store, now_ms: int, incident_window_ms: int = DEFAULT_INCIDENT_WINDOW_MS
) -> dict[str, Any]:
    """Alerts of the last 24 h by hour and severity, open alerts and incidents by status, the
    fleet's state, the rules that fired most, the ATT&CK tactics and techniques of their
    findings, and each host's losses by hour."""
    since = now_ms - WINDOW_HOURS * HOUR_MS
    # The store filters on last seen; an alert counts in the window when it first fired there.
    recent = [
        a for a in store.list_alerts(since_ms=since, limit=SCAN_LIMIT) if a.first_seen_ms >= since
    ]
    opened = {s: store.list_alerts(status=s, limit=SCAN_LIMIT) for s in OPEN_STATUSES}
    incidents = Counter(i.status for i in list_incidents(store, incident_window_ms))
    truncated = len(recent) >= SCAN_LIMIT or any(len(v) >= SCAN_LIMIT for v in opened.values())
    return {
        "now_ms": now_ms,
        "window_hours": WINDOW_HOURS,
        "truncated": truncated,
        "alerts_by_hour": _by_hour(recent, since),
        "alerts_by_severity": _by_severity(recent),
        "open_alerts": {s: len(v) for s, v in opened.items()},
        "incidents": {s: incidents[s] for s in ("open", "resolved")},
        "hosts": _hosts(store),
        "top_rules": _top_rules(recent),
        "attack": _attack(recent),
        "drops": drops_over_time(store, now_ms),
    }


def drops_over_time(
    store: Store, now_ms: int, sensor_id: str | None = None
) -> list[dict[str, Any]]:
    """Per host with losses in the window: totals by kind and hourly totals (oldest first), most
    losses first. An hour is when the collector received the batches that reported them."""
    first_hour = now_ms - now_ms % HOUR_MS - (WINDOW_HOURS - 1) * HOUR_MS
    hosts: dict[str, dict[str, Any]] = {}
    for sample in store.drops_by_hour(first_hour, sensor_id):
        if not sample.total:
            continue
        row = hosts.setdefault(sample.sensor_id, _drops_row(sample.sensor_id, first_hour))
        row["by_hour"][min((sample.hour_ms - first_hour) // HOUR_MS, WINDOW_HOURS - 1)][
            "total"
        ] += sample.total
        for kind in _DROP_KINDS:
            row[kind] += getattr(sample, kind)
        row["total"] += sample.total
    names = {h.sensor_id: h.hostname for h in store.list_hosts()} if hosts else {}
    for sid, row in hosts.items():
        row["hostname"] = names.get(sid, "")
    return sorted(hosts.values(), key=lambda r: (-r["total"], r["sensor_id"]))


_DROP_KINDS = ("kernel", "spool_evicted", "spool_corrupt", "plugin")


def _drops_row(sensor_id: str, first_hour: int) -> dict[str, Any]:
    return {
        "sensor_id": sensor_id,
        "hostname": "",
        "total": 0,
        **dict.fromkeys(_DROP_KINDS, 0),
        "by_hour": [
            {"start_ms": first_hour + i * HOUR_MS, "total": 0} for i in range(WINDOW_HOURS)
        ],
    }


def _by_hour(alerts: list[AlertRecord], since: int) -> list[dict[str, Any]]:
    buckets: list[dict[str, Any]] = [
        {"start_ms": since + i * HOUR_MS, "total": 0, "by_severity": {}}
        for i in range(WINDOW_HOURS)
    ]
    for a in alerts:
        index = min((a.first_seen_ms - since) // HOUR_MS, WINDOW_HOURS - 1)
        bucket = buckets[index]
        name = SEVERITY_NAMES.get(a.severity_id, "unknown")
        bucket["total"] += 1
        bucket["by_severity"][name] = bucket["by_severity"].get(name, 0) + 1
    return buckets


def _by_severity(alerts: list[AlertRecord]) -> dict[str, int]:
    counts = Counter(SEVERITY_NAMES.get(a.severity_id, "unknown") for a in alerts)
    # Most severe first, every level present so the page's legend never shifts.
    return {name: counts.get(name, 0) for _, name in sorted(SEVERITY_NAMES.items(), reverse=True)}


def _hosts(store: Store) -> dict[str, int]:
    hosts = [h for h in store.list_hosts() if not h.revoked]
    return {
        "total": len(hosts),
        "online": sum(1 for h in hosts if h.connected),
        "offline": sum(1 for h in hosts if not h.connected),
        "isolated": sum(1 for h in hosts if is_isolated(h)),
    }


def _top_rules(alerts: list[AlertRecord]) -> list[dict[str, Any]]:
    alert_counts: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    titles: dict[str, str] = {}
    for a in alerts:
        alert_counts[a.rule_uid] += 1
        hits[a.rule_uid] += a.count
        titles.setdefault(a.rule_uid, a.title)
    return [
        {"rule_uid": uid, "title": titles[uid], "alerts": n, "hits": hits[uid]}
        for uid, n in alert_counts.most_common(TOP)
    ]


def _attack(alerts: list[AlertRecord]) -> dict[str, list[dict[str, Any]]]:
    """Alerts per tactic and per technique (an alert counts once for each it carries)."""
    tactics: Counter[str] = Counter()
    techniques: Counter[str] = Counter()
    names: dict[str, str] = {}
    for a in alerts:
        seen_tactics: set[str] = set()
        seen_techniques: set[str] = set()
        for attack in a.finding.get("attacks") or []:
            if not isinstance(attack, dict):
                continue
            for tactic in attack.get("tactics") or [attack.get("tactic")]:
                if isinstance(tactic, dict) and tactic.get("uid"):
                    seen_tactics.add(str(tactic["uid"]))
                    names.setdefault(str(tactic["uid"]), str(tactic.get("name", "")))
            for key in ("technique", "sub_technique"):
                tech = attack.get(key)
                if isinstance(tech, dict) and tech.get("uid"):
                    seen_techniques.add(str(tech["uid"]))
                    names.setdefault(str(tech["uid"]), str(tech.get("name", "")))
        tactics.update(seen_tactics)
        techniques.update(seen_techniques)
    return {
        "tactics": [{"uid": u, "name": names[u], "alerts": n} for u, n in tactics.most_common()],
        "techniques": [
            {"uid": u, "name": names[u], "alerts": n} for u, n in techniques.most_common()
        ],
    }


CHART_HEIGHT = 120
BAR_WIDTH = 22
BAR_GAP = 4


def chart(dash: dict[str, Any]) -> dict[str, Any]:
    """Geometry of the hourly bar chart (stacked by severity, most severe on top) for an inline
    SVG: the CSP forbids inline styles and scripts, but SVG attributes are neither."""
    buckets = dash["alerts_by_hour"]
    peak = max((b["total"] for b in buckets), default=0) or 1
    order = [name for _, name in sorted(SEVERITY_NAMES.items())]
    bars = []
    for i, bucket in enumerate(buckets):
        y = CHART_HEIGHT
        rects = []
        for name in order:
            count = bucket["by_severity"].get(name, 0)
            if not count:
                continue
            height = max(1, round(CHART_HEIGHT * count / peak))
            y -= height
            rects.append({"y": y, "height": height, "severity": name, "count": count})
        bars.append(
            {"x": i * (BAR_WIDTH + BAR_GAP), "start_ms": bucket["start_ms"], "rects": rects}
        )
    return {
        "width": WINDOW_HOURS * (BAR_WIDTH + BAR_GAP),
        "height": CHART_HEIGHT,
        "bar_width": BAR_WIDTH,
        "peak": peak,
        "bars": bars,
    }
