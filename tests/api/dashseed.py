"""Seed data for the dashboard, host-page and export tests: a small fleet in every state and
alerts of several severities and ATT&CK tags, written through the store like the collector does."""

from __future__ import annotations

import time
from typing import Any

from api.apienv import launch
from aurora.collector.store.base import HostRecord, HostStatus, IncomingBatch, NewAlert

HOUR_MS = 3_600_000
FAILED_REASON = "kernel lacks BTF (CONFIG_DEBUG_INFO_BTF=n)"


def _host(sensor_id: str, name: str, t: int, **fields: Any) -> HostRecord:
    return HostRecord(
        sensor_id=sensor_id,
        hostname=name,
        os_name="Debian",
        os_version="12",
        enrolled_ms=t,
        last_seen_ms=t,
        **fields,
    )


def seed_fleet(store: Any) -> dict[str, Any]:
    """Hosts: db-1 online and degraded (a capability failed, spool nearly full, drops), iso-1
    isolated, off-1 offline, gone-1 revoked. Alerts: 2 high + 1 critical on db-1 in the last
    hours, 1 low resolved, and 1 medium older than a day."""
    now = int(time.time() * 1000)
    caps = (
        {"name": "process", "loaded": True, "reason": ""},
        {"name": "file", "loaded": False, "reason": FAILED_REASON},
    )
    store.register_host(
        _host("s-db", "db-1", now, connected=True, health="degraded", isolation="none")
    )
    store.update_host_status(
        HostStatus(
            "s-db", now, capabilities=caps, spool_bytes=900, spool_max_bytes=1000, connected=True
        )
    )
    store.register_host(_host("s-iso", "iso-1", now, connected=True, isolation="isolated"))
    store.register_host(_host("s-off", "off-1", now, connected=False, isolation="none"))
    store.register_host(_host("s-gone", "gone-1", now, revoked=True, revoked_ms=now))
    events = [
        launch(10, 1, "bash", now - 5000),
        launch(11, 10, "curl", now - 4000, "=cmd|' /C calc'!A0"),
    ]
    for e in events:
        e["device"] = {"hostname": "db-1"}
    store.ingest([IncomingBatch("s-db", 1, events, received_ms=now)])
    execution = {"uid": "TA0002", "name": "Execution"}
    alerts = [
        ("rule-curl", 4, "T1105", [execution], now - 2 * HOUR_MS),
        ("rule-curl", 4, "T1105", [execution], now - HOUR_MS),
        ("rule-shadow", 5, "T1003", [{"uid": "TA0006", "name": "Credential Access"}], now),
        ("rule-ls", 2, "", [], now - 3 * HOUR_MS),
        ("rule-old", 3, "T1059", [execution], now - 30 * HOUR_MS),
    ]
    new = []
    for i, (rule, sev, technique, tactics, t) in enumerate(alerts):
        attacks = [{"technique": {"uid": technique}, "tactics": tactics}] if technique else []
        finding = {
            "class_uid": 2004,
            "severity_id": sev,
            "device": {"hostname": "db-1"},
            "attacks": attacks,
            "finding_info": {"analytic": {"uid": rule}, "title": f"title {rule}"},
        }
        new.append(NewAlert(rule, "s-db", f"k{i}", sev, f"-title {rule}", t, finding))
    ids = store.add_alerts(new)
    store.set_alert_status(ids[3], "resolved")
    return {"now": now, "alert_ids": ids}
