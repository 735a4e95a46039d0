"""`aurora isolate`: isolate a host from the network (nftables)"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.common import not_yet


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "isolate",
        help="isolate a host from the network (nftables)",
        description="isolate a host from the network (nftables)",
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return not_yet("isolate", 6, "response actions")
