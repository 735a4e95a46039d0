"""`aurora user`: manage console users"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.common import not_yet


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "user", help="manage console users", description="manage console users"
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return not_yet("user", 7, "the console")
