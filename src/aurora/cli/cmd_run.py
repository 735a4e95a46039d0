"""`aurora run`: the all-in-one deployment on one machine, as `make run` starts it.

One collector (gRPC + mTLS, SQLite store, detection), its console/REST API, and a local sensor
enrolled automatically through a single-use token. The sensor runs as its own process, as it
would on any other host, so it can crash or be restarted without taking the collector down.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aurora.cli.common import config_from_args
from aurora.config import AuroraConfig
from aurora.errors import AuroraError

log = logging.getLogger("aurora.run")

SENSOR_CONNECT_TIMEOUT_S = 60.0
SENSOR_RESTART_DELAY_S = 5.0


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run collector + console + local sensor on one machine (embedded store)",
        description=(
            "Start a collector, its web console and a local sensor enrolled to it, all on the "
            "embedded SQLite store. State lives in DIR/collector and DIR/sensor. Logs "
            "`aurora ready` when every part is up; stop with Ctrl-C or SIGTERM."
        ),
    )
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        default="/var/lib/aurora",
        help="root of the collector and sensor state (default /var/lib/aurora)",
    )
    parser.add_argument("--listen", metavar="ADDR:PORT", help="sensor port (default :9443)")
    parser.add_argument(
        "--api-listen", metavar="ADDR:PORT", help="console/API address (default [api] listen)"
    )
    parser.add_argument(
        "--no-sensor", action="store_true", help="start the collector and console only"
    )
    parser.set_defaults(func=run)


def _with_dirs(config: AuroraConfig, root: Path, args: argparse.Namespace) -> AuroraConfig:
    from aurora.cli.cmd_collector import apply_overrides

    config = apply_overrides(config, argparse.Namespace(**{**vars(args), "state_dir": None}))
    return config.model_copy(
        update={
            "collector": config.collector.model_copy(update={"state_dir": root / "collector"}),
            "sensor": config.sensor.model_copy(update={"state_dir": root / "sensor"}),
        }
    )


def _ensure_enrolled(collector: Any, sensor_dir: Path, endpoint: str) -> str:
    """Enrol the local sensor once; later starts reuse its identity."""
    from aurora.collector.tokens import create_token
    from aurora.sensor.enrollment import enroll
    from aurora.sensor.identity import NotEnrolledError, load_identity

    try:
        return load_identity(sensor_dir).sensor_id
    except NotEnrolledError:
        pass
    token = create_token(collector.store, ttl_s=600, uses=1, note="aurora run: local sensor")
    identity = enroll(endpoint, token.token, collector.ca.fingerprint, sensor_dir)
    log.info("local sensor enrolled as %s", identity.sensor_id)
    return identity.sensor_id


class SensorProcess:
    """The local sensor as a child process, restarted after a delay if it dies."""

    def __init__(self, args: argparse.Namespace, sensor_dir: Path, endpoint: str) -> None:
        self.cmd = [sys.executable, "-m", "aurora"]
        if args.config:
            self.cmd += ["--config", args.config]
        if args.log_level:
            self.cmd += ["--log-level", args.log_level]
        self.cmd += ["sensor", "--state-dir", str(sensor_dir), "--collector", endpoint]
        self.proc: subprocess.Popen[bytes] | None = None
        self.next_start = 0.0

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd)

    def check(self) -> None:
        if self.proc is None or self.proc.poll() is None:
            return
        now = time.monotonic()
        if self.next_start == 0.0:
            log.error(
                "local sensor exited with code %d; restarting in %.0f s",
                self.proc.returncode,
                SENSOR_RESTART_DELAY_S,
            )
            self.next_start = now + SENSOR_RESTART_DELAY_S
        elif now >= self.next_start:
            self.next_start = 0.0
            self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _wait_connected(collector: Any, sensor_id: str, sensor: SensorProcess) -> bool:
    deadline = time.monotonic() + SENSOR_CONNECT_TIMEOUT_S
    while time.monotonic() < deadline:
        host = collector.store.get_host(sensor_id)
        if host is not None and host.connected:
            return True
        if sensor.proc is not None and sensor.proc.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def run(args: argparse.Namespace) -> int:
    from aurora.cli.cmd_collector import reload_rules_on_sighup, start_console
    from aurora.collector.server import Collector
    from aurora.collector.sigma_bootstrap import bootstrap_sigma
    from aurora.gcpolicy import settle_after_startup

    root = Path(args.state_dir).resolve()
    config = _with_dirs(config_from_args(args), root, args)
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
    sensor: SensorProcess | None = None
    try:
        api = start_console(collector, config)
        parts = [f"console {api.url}", f"sensors :{collector.port}"]
        if not args.no_sensor:
            endpoint = f"127.0.0.1:{collector.port}"
            sensor_id = _ensure_enrolled(collector, config.sensor.state_dir, endpoint)
            sensor = SensorProcess(args, config.sensor.state_dir, endpoint)
            sensor.start()
            if not _wait_connected(collector, sensor_id, sensor):
                raise AuroraError(
                    "the local sensor did not connect; see its log above (run as root for eBPF, "
                    "or use --no-sensor)"
                )
            parts.append(f"local sensor {sensor_id} connected")
        log.info("aurora ready: %s", ", ".join(parts))
        settle_after_startup()
        while not stop.wait(1.0):
            if sensor is not None:
                sensor.check()
    finally:
        if sensor is not None:
            sensor.stop()
        if api is not None:
            api.stop()
        collector.stop()
    return 0
