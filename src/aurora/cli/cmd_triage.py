"""`aurora triage`: collect a live triage package from a host"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.common import not_yet


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "triage",
        help="collect a live triage package from a host",
        description="collect a live triage package from a host",
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return not_yet("triage", 6, "response actions")
