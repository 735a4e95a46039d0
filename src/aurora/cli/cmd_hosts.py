"""`aurora hosts`: list enrolled sensors (status, last seen, queue depth, drops); revoke one."""

from __future__ import annotations

import argparse
import time
from typing import Any

from aurora.cli.common import config_from_args, print_json_line
from aurora.cli.local_store import (
    add_state_dir,
    open_existing_store,
    print_table,
    resolve_one,
)
from aurora.cli.timespec import format_ms
from aurora.collector.store import HostRecord


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "hosts",
        help="list enrolled sensors; revoke one",
        description="List enrolled sensors, or revoke one with `aurora hosts revoke ID`.",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per host per line")
    add_state_dir(parser)
    sub = parser.add_subparsers(dest="hosts_action", metavar="ACTION")
    revoke = sub.add_parser(
        "revoke",
        help="refuse this sensor from now on; a live stream ends within one heartbeat",
    )
    revoke.add_argument("sensor", metavar="ID", help="sensor id (or its unique hostname)")
    add_state_dir(revoke)
    parser.set_defaults(func=run)


def status_of(h: HostRecord) -> str:
    if h.revoked:
        return "revoked"
    return "online" if h.connected else "offline"


def host_json(h: HostRecord) -> dict[str, Any]:
    return {
        "sensor_id": h.sensor_id,
        "hostname": h.hostname,
        "status": status_of(h),
        "os": {"name": h.os_name, "version": h.os_version, "kernel": h.kernel_version},
        "arch": h.arch,
        "sensor_version": h.sensor_version,
        "ip_addresses": list(h.ip_addresses),
        "enrolled_ms": h.enrolled_ms,
        "last_seen_ms": h.last_seen_ms,
        "cert_not_after_ms": h.cert_not_after_ms,
        "health": h.health,
        "capabilities": list(h.capabilities),
        "queue_depth": h.queue_depth,
        "spool_bytes": h.spool_bytes,
        "spool_max_bytes": h.spool_max_bytes,
        "drops": {
            "kernel": h.drops_kernel,
            "spool_evicted": h.drops_spool_evicted,
            "spool_corrupt": h.drops_spool_corrupt,
            "plugin": h.drops_plugin,
        },
        "isolation": h.isolation,
        "high_water_seq": h.high_water,
        "counters": h.counters,
    }


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    store = open_existing_store(args, config)
    try:
        if args.hosts_action == "revoke":
            sensor_id = resolve_one(store, args.sensor)
            store.revoke_host(sensor_id, int(time.time() * 1000))
            print(f"revoked sensor {sensor_id}")
            return 0
        hosts = store.list_hosts()
    finally:
        store.close()
    if args.json:
        for h in hosts:
            print_json_line(host_json(h))
        return 0
    print_table(
        [
            "SENSOR ID",
            "HOSTNAME",
            "OS",
            "STATUS",
            "LAST SEEN (UTC)",
            "HEALTH",
            "QUEUE",
            "DROPS",
            "ISOLATION",
        ],
        [
            [
                h.sensor_id,
                h.hostname or "-",
                h.os_name or "-",
                status_of(h),
                format_ms(h.last_seen_ms),
                h.health,
                h.queue_depth,
                h.drops_kernel + h.drops_spool_evicted + h.drops_spool_corrupt + h.drops_plugin,
                h.isolation,
            ]
            for h in hosts
        ],
    )
    return 0
