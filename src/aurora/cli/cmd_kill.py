"""`aurora kill`: kill a process (optionally its whole tree) on a host"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.target_args import add_target_args


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "kill",
        help="kill a process on a host",
        description="Kill a process on a host. With --start-time, a recycled pid is refused.",
    )
    parser.add_argument("host", help="sensor id or hostname")
    parser.add_argument("pid", type=int, help="process id")
    parser.add_argument("--tree", action="store_true", help="kill its descendants too")
    parser.add_argument(
        "--start-time",
        type=int,
        default=0,
        metavar="MS",
        help="process start time (ms since the epoch) as shown in events",
    )
    add_target_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aurora.cli.actions_support import run_action

    params = {"pid": args.pid, "tree": args.tree, "start_time_unix_ms": args.start_time}
    return run_action(args, "kill", params)
