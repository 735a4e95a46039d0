"""`aurora collector`: run the collector (gRPC ingest, detection, REST API)"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.common import not_yet


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "collector",
        help="run the collector (gRPC ingest, detection, REST API)",
        description="run the collector (gRPC ingest, detection, REST API)",
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return not_yet("collector", 4, "the collector")
