"""`aurora quarantine`: quarantine a file on a host, or restore it"""

from __future__ import annotations

import argparse
from typing import Any

from aurora.cli.target_args import add_target_args
from aurora.errors import UsageError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "quarantine",
        help="quarantine a file on a host, or restore it",
        description="Move a file into the sensor's quarantine (`aurora quarantine HOST PATH`) or "
        "put it back (`aurora quarantine --restore HOST ID`, ID from the quarantine result).",
    )
    parser.add_argument("--restore", action="store_true", help="restore quarantined file ID")
    parser.add_argument("host", help="sensor id or hostname")
    parser.add_argument("target", metavar="PATH|ID", help="absolute file path, or quarantine id")
    add_target_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aurora.cli.actions_support import run_action

    if args.restore:
        return run_action(args, "restore", {"quarantine_id": args.target})
    if not args.target.startswith("/"):
        raise UsageError(f"quarantine needs an absolute path, got {args.target!r}")
    return run_action(args, "quarantine", {"path": args.target})
