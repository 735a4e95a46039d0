"""`aurora plugin`: enable a plugin manifest on sensors, remove it, list where plugins stand.

Works on the collector's state directory (like `aurora hosts`); each change becomes a ``plugin``
command per host, audited as ``cli:<unix user>``, delivered at the sensor's next heartbeat.
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from aurora.cli.common import config_from_args, print_json_line
from aurora.cli.local_store import add_state_dir, print_table, state_dir_of
from aurora.cli.timespec import format_ms


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plugin",
        help="enable, remove and list sensor plugins",
        description="Enable a plugin manifest on one host or all (`aurora plugin add MANIFEST "
        "--host H|--all`), remove it (`aurora plugin remove NAME --host H|--all`), or list "
        "where each plugin stands (`aurora plugin list`).",
    )
    sub = parser.add_subparsers(dest="plugin_action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="enable the plugin a TOML manifest describes")
    add.add_argument("manifest", type=Path, metavar="MANIFEST", help="manifest file (TOML)")
    remove = sub.add_parser("remove", help="disable a plugin; the sensor drops its connection")
    remove.add_argument("name", help="plugin name, as in its manifest")
    for p in (add, remove):
        where = p.add_mutually_exclusive_group(required=True)
        where.add_argument("--host", help="sensor id or hostname")
        where.add_argument("--all", action="store_true", help="every enrolled, unrevoked host")
    listing = sub.add_parser("list", help="each plugin's latest change on each host")
    for p in (add, remove, listing):
        add_state_dir(p)
        p.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aurora.cli.local_store import open_existing_store
    from aurora.collector.plugin_admin import plugin_states, request_change
    from aurora.collector.store.accounts import SQLiteAccounts
    from aurora.plugins.manifest import load_file

    config = config_from_args(args)
    manifest = load_file(args.manifest) if args.plugin_action == "add" else None
    store = open_existing_store(args, config)
    try:
        if args.plugin_action == "list":
            return _list(args, plugin_states(store))
        accounts = SQLiteAccounts(state_dir_of(args, config) / "aurora.db")
        try:
            queued = request_change(
                store,
                accounts,
                actor=f"cli:{getpass.getuser()}",
                op=args.plugin_action,
                name=manifest.name if manifest else args.name,
                manifest=manifest,
                host=args.host,
                all_hosts=args.all,
                ttl_s=config.response.command_ttl_s,
            )
        finally:
            accounts.close()
    finally:
        store.close()
    for cmd in queued:
        row = {"command_id": cmd.command_id, "sensor_id": cmd.sensor_id, "state": cmd.state}
        if args.json:
            print_json_line({**row, "op": args.plugin_action, "name": cmd.params["name"]})
        else:
            print(
                f"{cmd.command_id} plugin {args.plugin_action} {cmd.params['name']} "
                f"{cmd.sensor_id} {cmd.state}"
            )
    return 0


def _list(args: argparse.Namespace, states: list[Any]) -> int:
    if args.json:
        for s in states:
            print_json_line({**s.__dict__, "enabled": s.enabled})
        return 0
    rows = [
        [s.sensor_id, s.name, s.version or "-", s.op, s.state, format_ms(s.updated_ms)]
        for s in states
    ]
    print_table(["SENSOR", "PLUGIN", "VERSION", "LAST CHANGE", "STATE", "UPDATED"], rows)
    return 0
