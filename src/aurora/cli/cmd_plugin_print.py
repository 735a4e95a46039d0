"""How `aurora plugin` prints, the same whether it worked on a state directory or through the
API: the commands a change queued, and the listing of where each plugin stands."""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.common import print_json_line
from aurora.cli.local_store import print_table
from aurora.cli.timespec import format_ms


def print_queued(args: argparse.Namespace, commands: list[dict[str, Any]]) -> None:
    """One line per queued ``plugin`` command (fields of a CommandRecord)."""
    for cmd in commands:
        row = {
            "command_id": cmd["command_id"],
            "sensor_id": cmd["sensor_id"],
            "state": cmd["state"],
        }
        name = cmd["params"]["name"]
        if args.json:
            print_json_line({**row, "op": args.plugin_action, "name": name})
        else:
            ids = f"{row['command_id']} plugin {args.plugin_action} {name}"
            print(f"{ids} {row['sensor_id']} {row['state']}")


def print_states(args: argparse.Namespace, states: list[dict[str, Any]]) -> int:
    """The listing: one row per (host, plugin), fields of a PluginState plus ``enabled``."""
    if args.json:
        for s in states:
            print_json_line(s)
        return 0
    rows = [
        [
            s["sensor_id"],
            s["name"],
            s["version"] or "-",
            s["op"],
            s["state"],
            format_ms(s["updated_ms"]),
        ]
        for s in states
    ]
    print_table(["SENSOR", "PLUGIN", "VERSION", "LAST CHANGE", "STATE", "UPDATED"], rows)
    return 0
