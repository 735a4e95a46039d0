"""`aurora unisolate`: give an isolated host its network back"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.target_args import add_target_args


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "unisolate",
        help="give an isolated host its network back",
        description="Remove the isolation firewall from a host.",
    )
    parser.add_argument("host", help="sensor id or hostname")
    add_target_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aurora.cli.actions_support import run_action

    return run_action(args, "unisolate", {})
