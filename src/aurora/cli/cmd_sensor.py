"""`aurora sensor`: run the sensor (--stdout for standalone OCSF JSON lines)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aurora.cli.common import config_from_args
from aurora.cli.service_units import DEFAULT_UNIT_DIR, UnitSpec, install, sensor_spec, uninstall
from aurora.errors import UsageError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sensor",
        help="run the sensor (--stdout for standalone OCSF JSON lines)",
        description="run the sensor (--stdout for standalone OCSF JSON lines)",
    )
    parser.add_argument(
        "--stdout",
        action="store_true",
        help="run standalone: write one OCSF JSON object per line to stdout, no collector",
    )
    parser.add_argument(
        "--state-dir", metavar="DIR", help="override [sensor] state_dir (keys, spool, state)"
    )
    parser.add_argument("--collector", metavar="HOST:PORT", help="collector to stream to")
    parser.add_argument(
        "service",
        nargs="?",
        choices=("install", "uninstall"),
        help="install: write (and enable) the aurora-sensor systemd unit; uninstall: remove it",
    )
    parser.add_argument(
        "--unit-dir",
        metavar="DIR",
        default=str(DEFAULT_UNIT_DIR),
        help="where install/uninstall put the unit (default %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.state_dir:
        config = config.model_copy(
            update={"sensor": config.sensor.model_copy(update={"state_dir": Path(args.state_dir)})}
        )
    if args.service:
        return manage_unit(args, sensor_spec(config.sensor.state_dir))
    if not args.stdout:
        from aurora.sensor.agent import run_agent  # written with the transport issue

        return int(run_agent(args, config))
    if args.collector:
        raise UsageError("--stdout and --collector exclude each other: pick one")
    from aurora.sensor import platform
    from aurora.sensor.standalone import run_standalone

    # On an OS without an event source yet, the platform says so with a typed error.
    return run_standalone(platform.current().event_source(config.sensor))


def manage_unit(args: argparse.Namespace, spec: UnitSpec) -> int:
    """`install` / `uninstall` for the sensor's or the collector's unit."""
    unit_dir = Path(args.unit_dir)
    if args.service == "install":
        config = Path(args.config).resolve() if getattr(args, "config", None) else None
        done = install(spec, unit_dir, config)
    else:
        done = uninstall(spec, unit_dir)
    for line in done:
        print(line)
    return 0
