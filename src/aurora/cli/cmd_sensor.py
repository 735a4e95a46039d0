"""`aurora sensor`: run the sensor (--stdout for standalone OCSF JSON lines, --replay FILE to
feed recorded Windows events through the real pipeline)."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

import orjson

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
        help="install: write (and enable) the aurora-sensor systemd unit, or on Windows install "
        "the service (pywin32); uninstall: remove it",
    )
    parser.add_argument(
        "--unit-dir",
        metavar="DIR",
        default=str(DEFAULT_UNIT_DIR),
        help="where install/uninstall put the systemd unit (default %(default)s)",
    )
    parser.add_argument(
        "--replay",
        metavar="FILE",
        action="append",
        type=Path,
        help="replay recorded Windows events (.evtx, .etl, .json) instead of the live source; "
        "exits once all are delivered (repeatable)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.state_dir:
        config = config.model_copy(
            update={"sensor": config.sensor.model_copy(update={"state_dir": Path(args.state_dir)})}
        )
    if getattr(args, "service", None):
        if sys.platform == "win32":
            return windows_service(args.service)
        return manage_unit(args, sensor_spec(config.sensor.state_dir))
    if args.stdout and args.collector:
        raise UsageError("--stdout and --collector exclude each other: pick one")
    if args.replay:
        from aurora.sensor.windows.replay import ReplaySource

        source = ReplaySource(list(args.replay))
        if args.stdout:
            return _replay_to_stdout(source)
        args.source = source
        args.watch = lambda agent: _stop_when_delivered(agent, source)
    if not args.stdout:
        from aurora.sensor.agent import run_agent  # written with the transport issue

        return int(run_agent(args, config))
    from aurora.sensor import platform
    from aurora.sensor.standalone import run_standalone

    # On an OS without an event source yet, the platform says so with a typed error.
    return run_standalone(platform.current().event_source(config.sensor))


def _replay_to_stdout(source: Any) -> int:
    from aurora.sensor.standalone import write_all

    source.start()
    try:
        while not source.exhausted:
            events = source.poll(0)
            if events:
                write_all(
                    sys.stdout.buffer,
                    b"".join(orjson.dumps(e, option=orjson.OPT_APPEND_NEWLINE) for e in events),
                )
        sys.stdout.buffer.flush()
    finally:
        source.stop()
    return 0


def _stop_when_delivered(agent: Any, source: Any) -> None:
    """Stop the agent once every replayed event is spooled and acknowledged by the collector.

    Counted by sequence numbers, not by "the spool is empty": the last events may still sit in
    the producer's batch, not yet in the spool, when the source runs dry.
    """
    base = agent.spool.status().next_seq - 1
    tick = threading.Event()

    def watch() -> None:
        while not tick.wait(0.2):
            if source.exhausted and agent.spool.status().acked_through >= base + source.replayed:
                agent.stop()
                return

    threading.Thread(target=watch, name="aurora-replay-done", daemon=True).start()


def windows_service(action: str) -> int:
    """`install` / `uninstall` of the Windows service (pywin32 calls removal `remove`)."""
    if sys.platform != "win32":
        raise UsageError(f"the Windows service cannot be {action}ed here: this is not Windows")
    from aurora.sensor.windows import service

    return service.main(["aurora-sensor", "remove" if action == "uninstall" else action])


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
