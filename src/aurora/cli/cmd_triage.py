"""`aurora triage`: collect a triage package from a host"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aurora.cli.target_args import add_target_args
from aurora.errors import UsageError

if TYPE_CHECKING:
    from aurora.cli.actions_support import Target


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "triage",
        help="collect a triage package from a host",
        description="Collect live-response artifacts from a host into one archive; with --out, "
        "save it locally once the upload is complete.",
    )
    parser.add_argument("host", help="sensor id or hostname")
    parser.add_argument("--out", type=Path, metavar="FILE", help="where to save the archive")
    parser.add_argument(
        "--artifact",
        action="append",
        default=[],
        metavar="NAME",
        help="collect only this artifact (repeatable; default: the standard set)",
    )
    add_target_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aurora.cli.actions_support import run_action

    out: Path | None = args.out
    if out is not None:
        if out.exists() and out.is_dir():
            raise UsageError(f"--out {out} is a directory; name a file")
        if not out.parent.is_dir():
            raise UsageError(f"--out: directory {out.parent} does not exist")
        if args.no_wait:
            raise UsageError("--out needs to wait for the package; drop --no-wait")

    def save(target: Target, view: dict[str, Any]) -> None:
        if out is not None:
            size = target.fetch_upload(view["command_id"], out)
            print(f"saved {size} bytes to {out}", file=sys.stderr)

    return run_action(args, "triage", {"artifacts": list(args.artifact)}, after=save)
