"""`aurora scan`: hunt offline through EVTX and JSON logs with Sigma rules"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.common import not_yet


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "scan",
        help="hunt offline through EVTX and JSON logs with Sigma rules",
        description="hunt offline through EVTX and JSON logs with Sigma rules",
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return not_yet("scan", 5, "offline hunting")
