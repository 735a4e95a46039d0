"""`aurora run`: run collector + console + local sensor on one machine (embedded store)"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.common import not_yet


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run collector + console + local sensor on one machine (embedded store)",
        description="run collector + console + local sensor on one machine (embedded store)",
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return not_yet("run", 4, "the all-in-one runtime")
