"""`aurora collector`: run the collector until SIGINT/SIGTERM; SIGHUP reloads the rules."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aurora.cli.cmd_sensor import manage_unit
from aurora.cli.common import config_from_args
from aurora.cli.service_units import DEFAULT_UNIT_DIR, collector_spec
from aurora.config import AuroraConfig
from aurora.errors import ConfigError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "collector",
        help="run the collector (gRPC ingest, detection, REST API)",
        description="Run the collector: enrolment and sensor streams on one mTLS port, storage, "
        "detection. Logs `collector ready` once listening.",
    )
    parser.add_argument("--state-dir", metavar="DIR", help="default [collector] state_dir")
    parser.add_argument(
        "--listen", metavar="ADDR:PORT", help="sensor port (default [collector] listen, :9443)"
    )
    parser.add_argument(
        "--api-listen", metavar="ADDR:PORT", help="REST API address (default [api] listen)"
    )
    parser.add_argument(
        "--role",
        choices=("all", "frontend", "worker"),
        help="what this node does (default [collector] role, all); frontend and worker need "
        "bus = nats://... and a shared store",
    )
    parser.add_argument(
        "--bus",
        metavar="URL",
        help='event bus: "memory" or nats://HOST:PORT (default [collector] bus)',
    )
    parser.add_argument(
        "service",
        nargs="?",
        choices=("install", "uninstall"),
        help="install: write (and enable) the systemd unit of this node's --role "
        "(aurora-collector, aurora-collector-frontend, aurora-collector-worker@N); "
        "uninstall: remove it",
    )
    parser.add_argument(
        "--unit-dir",
        metavar="DIR",
        default=str(DEFAULT_UNIT_DIR),
        help="where install/uninstall put the unit (default %(default)s)",
    )
    parser.set_defaults(func=run)


def apply_overrides(config: AuroraConfig, args: argparse.Namespace) -> AuroraConfig:
    """The configuration with --state-dir/--listen/--api-listen applied (validated)."""
    from aurora.collector.server import parse_listen

    collector: dict[str, Any] = {}
    if getattr(args, "state_dir", None):
        collector["state_dir"] = Path(args.state_dir)
    if getattr(args, "listen", None):
        parse_listen(args.listen, "--listen")
        collector["listen"] = args.listen
    if getattr(args, "role", None):
        collector["role"] = args.role
    if getattr(args, "bus", None):
        collector["bus"] = args.bus
    update: dict[str, Any] = {}
    if collector:
        # Validated as the file is, so a bad --bus is refused like a bad bus = "...".
        merged = config.collector.model_dump() | collector
        try:
            update["collector"] = type(config.collector).model_validate(merged)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = "--" + ".".join(str(p) for p in err["loc"]).replace("_", "-")
            raise ConfigError(key, err["msg"]) from None
    if getattr(args, "api_listen", None):
        parse_listen(args.api_listen, "--api-listen")
        update["api"] = config.api.model_copy(update={"listen": args.api_listen})
    return config.model_copy(update=update) if update else config


def run(args: argparse.Namespace) -> int:
    # Imported here: grpc is heavy and `aurora --help` should not pay for it.
    from aurora.collector.server import Collector
    from aurora.collector.sigma_bootstrap import bootstrap_sigma
    from aurora.gcpolicy import settle_after_startup

    config = apply_overrides(config_from_args(args), args)
    if getattr(args, "service", None):
        role = config.collector.role  # --role picks the unit: one per role (docs/scale-out.md)
        return manage_unit(args, collector_spec(config.collector.state_dir, role))
    stop = threading.Event()

    def _signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _signal)
    signal.signal(signal.SIGINT, _signal)
    collector = Collector(config)
    collector.start()
    reload_rules_on_sighup(collector)
    bootstrap_sigma(collector, config, collector.state_dir)
    api = None
    try:
        # A worker has no console: it runs beside the sensors' streams (docs/scale-out.md).
        if config.collector.role != "worker":
            api = start_console(collector, config)
        settle_after_startup()
        while not stop.wait(3600):
            pass
    finally:
        if api is not None:
            api.stop()
        collector.stop()
    return 0


def reload_rules_on_sighup(collector: Any) -> None:
    """SIGHUP has the collector load its rules again (what `aurora rules update`, a process of
    its own, asks for). The reload is handed to a thread: a signal handler must not take the
    locks the bus and the store take."""

    def _hup(_signum: int, _frame: object) -> None:
        threading.Thread(
            target=collector.reload_rules, args=("SIGHUP",), name="aurora-sighup", daemon=True
        ).start()

    signal.signal(signal.SIGHUP, _hup)


def start_console(collector: Any, config: AuroraConfig) -> Any:
    """Serve the REST API and console over the collector's store; print the first admin's
    password the one time it is created (only its hash is kept)."""
    from aurora.api.server import start_api

    # The live engine: the console lists the rules of the moment, after any reload.
    engine = collector.detection.live_engine() if collector.detection is not None else None
    api, password = start_api(
        collector.store, config, config.collector.state_dir, engine=engine, bus=collector.bus
    )
    if password is not None:
        print(f"first console login: user 'admin', password '{password}'", flush=True)
    return api
