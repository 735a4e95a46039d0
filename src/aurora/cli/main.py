"""The `aurora` command: one entry point, one module per subcommand (``cmd_<name>.py``)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from aurora import __version__
from aurora.cli.common import config_from_args
from aurora.errors import AuroraError

# Order is the order shown by --help.
SUBCOMMANDS = (
    "run",
    "collector",
    "sensor",
    "enroll",
    "token",
    "hosts",
    "events",
    "alerts",
    "incidents",
    "rules",
    "scan",
    "hunt",
    "isolate",
    "unisolate",
    "kill",
    "quarantine",
    "triage",
    "plugin",
    "user",
    "release",
    "update",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aurora",
        description=(
            "Aurora EDR: eBPF/ETW sensors, a collector that runs Sigma rules on every event, "
            "response actions, a web console and offline hunting over EVTX/JSON logs."
        ),
        epilog="Run `aurora COMMAND --help` for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"aurora {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TOML configuration file (default: $AURORA_CONFIG, else /etc/aurora/aurora.toml)",
    )
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help="override [logging] level",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"aurora.cli.cmd_{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(args.log_level or "info").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        # Validate the configuration before any command runs, so a bad file always fails the
        # same way (one line, exit 2) whatever the command.
        config_from_args(args)
        return int(args.func(args))
    except AuroraError as exc:
        print(f"aurora: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
