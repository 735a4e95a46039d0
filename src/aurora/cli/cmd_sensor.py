"""`aurora sensor`: run the sensor (--stdout for standalone OCSF JSON lines)"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.common import not_yet


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sensor",
        help="run the sensor (--stdout for standalone OCSF JSON lines)",
        description="run the sensor (--stdout for standalone OCSF JSON lines)",
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return not_yet("sensor", 3, "the Linux sensor")
