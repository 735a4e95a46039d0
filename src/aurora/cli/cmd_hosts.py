"""`aurora hosts`: list enrolled sensors; revoke one"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.common import not_yet


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "hosts",
        help="list enrolled sensors; revoke one",
        description="list enrolled sensors; revoke one",
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return not_yet("hosts", 4, "the fleet table")
