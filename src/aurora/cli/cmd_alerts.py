"""`aurora alerts`: list alerts (OCSF Detection Findings); acknowledge or resolve one."""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.common import config_from_args, print_json_line
from aurora.cli.local_store import (
    add_state_dir,
    open_existing_store,
    positive_int,
    print_table,
)
from aurora.cli.timespec import format_ms, parse_time_ms
from aurora.collector.store import ALERT_STATUSES, AlertRecord
from aurora.errors import UsageError

# OCSF Detection Finding status ids for our three states ("acknowledged" is "In Progress").
_OCSF_STATUS = {"new": (1, "New"), "acknowledged": (2, "In Progress"), "resolved": (4, "Resolved")}


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "alerts",
        help="list alerts",
        description="List alerts, newest first; `ack ID` / `resolve ID` change their status.",
    )
    parser.add_argument(
        "--since", metavar="T", help="alerts last seen since T: ISO-8601 time or 15m, 2h, 7d ago"
    )
    parser.add_argument("--status", choices=ALERT_STATUSES, help="only alerts in this status")
    parser.add_argument("--limit", type=positive_int, default=1000, metavar="N")
    parser.add_argument("--json", action="store_true", help="one Detection Finding per line")
    add_state_dir(parser)
    sub = parser.add_subparsers(dest="alerts_action", metavar="ACTION")
    for name, help_text in (("ack", "mark acknowledged"), ("resolve", "mark resolved")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("alert_id", type=positive_int, metavar="ID")
        add_state_dir(p)
    parser.set_defaults(func=run)


def finding_of(a: AlertRecord) -> dict[str, Any]:
    """The stored finding with its live status, count and alert id."""
    f = dict(a.finding)
    f["status_id"], f["status"] = _OCSF_STATUS.get(a.status, (99, a.status))
    f["count"] = a.count
    f["start_time"] = min(int(f.get("start_time", a.first_seen_ms)), a.first_seen_ms)
    f["end_time"] = max(int(f.get("end_time", a.last_seen_ms)), a.last_seen_ms)
    info = dict(f.get("finding_info") or {})
    info.setdefault("uid", str(a.alert_id))
    f["finding_info"] = info
    unmapped = dict(f.get("unmapped") or {})
    unmapped.update({"aurora_alert_id": a.alert_id, "sensor_id": a.sensor_id})
    f["unmapped"] = unmapped
    return f


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    since = parse_time_ms(args.since) if args.since else None
    store = open_existing_store(args, config)
    try:
        if args.alerts_action in ("ack", "resolve"):
            status = "acknowledged" if args.alerts_action == "ack" else "resolved"
            if not store.set_alert_status(args.alert_id, status):
                raise UsageError(f"no alert has id {args.alert_id}; see `aurora alerts`")
            print(f"alert {args.alert_id} is now {status}")
            return 0
        alerts = store.list_alerts(since_ms=since, status=args.status, limit=args.limit)
    finally:
        store.close()
    if args.json:
        for a in alerts:
            print_json_line(finding_of(a))
        return 0
    print_table(
        ["ID", "LAST SEEN (UTC)", "SEVERITY", "STATUS", "COUNT", "HOST", "RULE"],
        [
            [
                a.alert_id,
                format_ms(a.last_seen_ms),
                a.finding.get("severity", a.severity_id),
                a.status,
                a.count,
                (a.finding.get("device") or {}).get("hostname") or a.sensor_id[:8],
                a.title,
            ]
            for a in alerts
        ],
    )
    return 0
