"""`aurora quarantine`: quarantine a file on a host, or restore it"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.common import not_yet


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "quarantine",
        help="quarantine a file on a host, or restore it",
        description="quarantine a file on a host, or restore it",
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return not_yet("quarantine", 6, "response actions")
