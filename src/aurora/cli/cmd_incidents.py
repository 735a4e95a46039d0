"""`aurora incidents`: the incident queue (alerts joined by process tree, scored), or one
incident with its alerts, the tree that joins them and its timeline."""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.common import config_from_args, print_json_line
from aurora.cli.local_store import add_state_dir, open_existing_store, positive_int, print_table
from aurora.cli.timespec import format_ms, parse_time_ms
from aurora.collector.incidents import (
    Incident,
    find_incident,
    incident_summary,
    joining_tree,
    list_incidents,
    timeline,
)
from aurora.errors import UsageError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "incidents",
        help="list incidents, or show one",
        description="Incidents group the alerts of one host from one process tree (login "
        "session or topmost non-system ancestor) raised within [detection] incident_window_s "
        "of each other. Listed open first, highest score first; `show ID` prints one.",
    )
    parser.add_argument("--since", metavar="T", help="incidents active since T (15m, 2h, 7d, ISO)")
    parser.add_argument("--open", action="store_true", help="only incidents with unresolved alerts")
    parser.add_argument("--limit", type=positive_int, default=100, metavar="N")
    parser.add_argument("--json", action="store_true", help="one JSON object per incident")
    add_state_dir(parser)
    sub = parser.add_subparsers(dest="incidents_action", metavar="ACTION")
    show = sub.add_parser("show", help="one incident: alerts, process tree, timeline")
    show.add_argument("incident_id", type=positive_int, metavar="ID")
    show.add_argument("--json", action="store_true", help="the incident as one JSON object")
    add_state_dir(show)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    window = config.detection.incident_window_s * 1000
    store = open_existing_store(args, config)
    try:
        if args.incidents_action == "show":
            incident = find_incident(store, args.incident_id, window)
            if incident is None:
                raise UsageError(f"no incident has id {args.incident_id}; see `aurora incidents`")
            return _show(incident, args.json)
        since = parse_time_ms(args.since) if args.since else None
        found = list_incidents(store, window, since_ms=since)
    finally:
        store.close()
    if args.open:
        found = [i for i in found if i.status == "open"]
    found.sort(key=lambda i: (i.status == "open", i.score, i.last_seen_ms), reverse=True)
    found = found[: args.limit]
    if args.json:
        for incident in found:
            print_json_line(incident_summary(incident))
        return 0
    print_table(
        ["ID", "SCORE", "STATUS", "ALERTS", "LAST SEEN (UTC)", "HOST", "TECHNIQUES", "TITLE"],
        [
            [
                i.incident_id,
                i.score,
                i.status,
                len(i.alerts),
                format_ms(i.last_seen_ms),
                i.sensor_id[:8],
                ",".join(i.techniques),
                i.title,
            ]
            for i in found
        ],
    )
    return 0


def _show(incident: Incident, as_json: bool) -> int:
    summary, tree, rows = incident_summary(incident), joining_tree(incident), timeline(incident)
    if as_json:
        print_json_line(summary | {"process_tree": tree, "timeline": rows})
        return 0
    print(f"incident {summary['incident_id']}: {summary['title']}")
    print(
        f"score {summary['score']}, {summary['status']}, {summary['alert_count']} alerts, "
        f"host {summary['sensor_id']}, techniques {', '.join(summary['techniques']) or '-'}"
    )
    print("\nprocess tree:")
    for node in tree:
        hits = "".join(f" [alert {i}]" for i in node["alert_ids"])
        print(f"  {'  ' * node['depth']}{node['name']} ({node['pid']}) {node['cmd_line']}{hits}")
    print("\ntimeline:")
    print_table(
        ["TIME (UTC)", "ALERT", "PROCESS", "COMMAND LINE"],
        [
            [format_ms(r["time_ms"]) if isinstance(r["time_ms"], int) else "", r["alert_id"],
             f"{r['process']} ({r['pid']})", r["cmd_line"]]
            for r in rows
        ],
    )  # fmt: skip
    return 0
