"""`aurora events`: search stored events by host, OCSF class and time."""

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
from aurora.collector.store import EventQuery, StoredEvent, UnknownHost


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "events",
        help="search stored events",
        description="Search stored events, newest first.",
    )
    parser.add_argument("--host", metavar="H", help="sensor id or hostname")
    parser.add_argument(
        "--class",
        dest="class_uid",
        type=positive_int,
        metavar="N",
        help="OCSF class_uid, e.g. 1007",
    )
    parser.add_argument("--since", metavar="T", help="ISO-8601 time or 15m, 2h, 7d ago")
    parser.add_argument("--limit", type=positive_int, default=100, metavar="N", help="default 100")
    parser.add_argument("--json", action="store_true", help="one OCSF event per line")
    add_state_dir(parser)
    parser.set_defaults(func=run)


def _summary(ev: dict[str, Any]) -> str:
    for path in (("process", "cmd_line"), ("query", "hostname"), ("file", "path")):
        node: Any = ev
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and node:
            return node[:80]
    dst = ev.get("dst_endpoint")
    if isinstance(dst, dict) and dst.get("ip"):
        return f"-> {dst.get('ip')}:{dst.get('port', '')}"
    return str(ev.get("message", ""))[:80]


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    since = parse_time_ms(args.since) if args.since else None
    store = open_existing_store(args, config)
    try:
        sensor_ids = None
        if args.host:
            sensor_ids = store.resolve_host(args.host)
            if not sensor_ids:
                raise UnknownHost(args.host)
        found: list[StoredEvent] = store.search_events(
            EventQuery(
                sensor_ids=sensor_ids, class_uid=args.class_uid, since_ms=since, limit=args.limit
            )
        )
    finally:
        store.close()
    if args.json:
        for e in found:
            print_json_line(e.event)
        return 0
    print_table(
        ["TIME (UTC)", "HOST", "CLASS", "PID", "PROCESS", "SUMMARY"],
        [
            [
                format_ms(e.time_ms),
                e.hostname or e.sensor_id[:8],
                e.class_uid,
                e.pid if e.pid is not None else "-",
                e.process_name or "-",
                _summary(e.event),
            ]
            for e in found
        ],
    )
    return 0
