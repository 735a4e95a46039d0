"""`aurora isolate`: isolate a host from the network (nftables)"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.target_args import add_target_args


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "isolate",
        help="isolate a host from the network (nftables)",
        description="Cut a host off the network except for the collector (and DNS/DHCP as "
        "configured). Asking again while it is isolated does no harm.",
    )
    parser.add_argument("host", help="sensor id or hostname")
    add_target_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aurora.cli.actions_support import run_action

    return run_action(args, "isolate", {})
