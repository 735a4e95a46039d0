"""Arguments of the commands that act on a host through a collector (isolate, kill, triage...).

Kept apart from :mod:`aurora.cli.actions_support`, which does the work, because every `aurora`
invocation builds every subcommand's parser: defining options must not import the API client.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_remote_args(parser: argparse.ArgumentParser) -> None:
    """--server / --token / --ca-cert: talk to a remote collector's API instead of a state dir.

    For `aurora hosts/events/alerts` too: ``client = remote_client(args)`` is None without
    --server, else an :class:`ApiClient` (use it as a context manager)."""
    where = parser.add_argument_group("remote collector (instead of --state-dir)")
    where.add_argument("--server", metavar="URL", help="collector API, e.g. https://c:8443")
    where.add_argument(
        "--token",
        default=os.environ.get("AURORA_TOKEN"),
        help="API token for --server (default: $AURORA_TOKEN)",
    )
    where.add_argument(
        "--ca-cert",
        type=Path,
        help="CA certificate that signed the API's certificate (default: system CAs)",
    )


def add_target_args(parser: argparse.ArgumentParser) -> None:
    """--state-dir, the remote options, --no-wait / --timeout / --json."""
    parser.add_argument(
        "--state-dir", type=Path, help="local collector state directory (default: [collector])"
    )
    add_remote_args(parser)
    parser.add_argument("--no-wait", action="store_true", help="queue the action and return")
    parser.add_argument(
        "--timeout", type=float, default=300.0, metavar="S", help="seconds to wait (default 300)"
    )
    parser.add_argument("--json", action="store_true", help="print the final state as JSON")
