"""`aurora plugin`: enable a plugin manifest on sensors, remove it, list where plugins stand.

Works on the collector's state directory (like `aurora hosts`), audited as ``cli:<unix user>``,
or with ``--server URL --token T`` through a remote collector's API (``/api/v1/plugins``, audited
as the token's user). Each change becomes a ``plugin`` command per host, delivered at the sensor's
next heartbeat.
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from aurora.cli.cmd_plugin_print import print_queued, print_states
from aurora.cli.common import config_from_args
from aurora.cli.local_store import add_state_dir, state_dir_of
from aurora.cli.target_args import add_remote_args


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
        add_remote_args(p)
        p.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.server:
        from aurora.cli.cmd_plugin_remote import run_remote

        return run_remote(args)
    from aurora.cli.local_store import open_existing_store
    from aurora.collector.plugin_admin import plugin_states, request_change
    from aurora.collector.store.accounts import SQLiteAccounts
    from aurora.plugins.manifest import load_file

    config = config_from_args(args)
    manifest = load_file(args.manifest) if args.plugin_action == "add" else None
    store = open_existing_store(args, config)
    try:
        if args.plugin_action == "list":
            return print_states(
                args, [{**s.__dict__, "enabled": s.enabled} for s in plugin_states(store)]
            )
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
    print_queued(args, [c.__dict__ for c in queued])
    return 0
