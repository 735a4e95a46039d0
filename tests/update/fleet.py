"""A one-host fleet for the update tests: a real collector (mTLS, SQLite) in this process with a
release key configured, and a real sensor run by the real update launcher in child processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from agent.helpers import REPO, wait_until
from aurora.collector.rollouts import rollout_view
from aurora.collector.server import Collector
from aurora.collector.store.base import FINAL_COMMAND_STATES, CommandRecord, RolloutRecord
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.sensor.enrollment import enroll
from aurora.sensor.identity import load_identity
from aurora.sensor.update.layout import Releases

SENSOR_MAIN = Path(__file__).with_name("sensor_main.py")


class Fleet:
    def __init__(self, tmp: Path, release_key: Path) -> None:
        self.tmp = tmp
        config = AuroraConfig.model_validate(
            {
                "collector": {
                    "state_dir": str(tmp / "collector"),
                    "listen": "127.0.0.1:0",
                    "release_public_key": f"{release_key}.pub",
                },
                "detection": {"enabled": False},
            }
        )
        self.collector = Collector(config)
        self.collector.start()
        assert self.collector.store is not None and self.collector.rollouts is not None
        self.store = self.collector.store
        self.rollouts = self.collector.rollouts
        self.endpoint = f"127.0.0.1:{self.collector.port}"
        self.state_dir = tmp / "sensor"
        token = create_token(self.store, 3600, 1)
        enroll(self.endpoint, token.token, self.collector.ca_fingerprint, self.state_dir)
        self.sensor_id = load_identity(self.state_dir).sensor_id
        self.releases = Releases(self.state_dir)
        self.control = tmp / "control"
        self.counter = tmp / "counter"
        self.log = tmp / "launcher.log"
        self.launcher: subprocess.Popen[bytes] | None = None

    def start_sensor(self, events: int | str, ebpf: str = "") -> None:
        """The launcher and its sensor: fed by the counting source, or with ``ebpf`` (extra
        [sensor] settings) the real eBPF sensor with its guard."""
        self.control.write_text(str(events))
        config = self.tmp / "aurora.toml"
        config.write_text(
            "[sensor]\n"
            "heartbeat_interval_s = 0.5\nreconnect_min_s = 0.1\nreconnect_max_s = 0.5\n"
            "batch_max_delay_ms = 50\nspool_fsync = true\n" + ebpf
        )
        env = dict(os.environ, PYTHONPATH=f"{REPO / 'src'}{os.pathsep}{REPO}")
        env.pop("AURORA_CONFIG", None)
        child = [] if ebpf else [str(SENSOR_MAIN), str(self.control), str(self.counter), "--"]
        child = child or ["-m", "aurora"]
        child += ["--config", str(config), "sensor", "--state-dir", str(self.state_dir)]
        child += ["--collector", self.endpoint]
        launcher = [sys.executable, "-m", "aurora.sensor.update.launcher"]
        with self.log.open("ab") as log:
            self.launcher = subprocess.Popen(
                [*launcher, "--state-dir", str(self.state_dir), "--", *child],
                stdout=log,
                stderr=log,
                env=env,
            )

    def stop(self) -> None:
        if self.launcher is not None and self.launcher.poll() is None:
            self.launcher.send_signal(signal.SIGTERM)
            try:
                self.launcher.wait(60)
            except subprocess.TimeoutExpired:
                self.launcher.kill()
                self.launcher.wait()
        self.collector.stop()

    # ------------------------------------------------------------------ views
    def host_version(self) -> str:
        host = self.store.get_host(self.sensor_id)
        return host.sensor_version if host else ""

    def connected(self) -> bool:
        host = self.store.get_host(self.sensor_id)
        return bool(host and host.connected)

    def roll_out(self, package: Path, confirm_within_s: int = 120) -> RolloutRecord:
        return self.rollouts.stage(
            package, [self.sensor_id], requested_by="test", confirm_within_s=confirm_within_s
        )

    def outcome(self, rollout: RolloutRecord, timeout: float = 120) -> CommandRecord:
        cid = rollout.targets[0].command_id

        def final() -> bool:
            cmd = self.store.get_command(cid)
            return cmd is not None and cmd.state in FINAL_COMMAND_STATES

        wait_until(final, timeout, f"update {cid} to end; log:\n{self.tail()}", step=0.1)
        cmd = self.store.get_command(cid)
        assert cmd is not None
        return cmd

    def view(self, rollout: RolloutRecord) -> dict[str, Any]:
        got = self.store.get_rollout(rollout.rollout_id)
        assert got is not None
        return rollout_view(self.store, got)

    def produced(self) -> int:
        try:
            return int(self.counter.read_text())
        except (OSError, ValueError):
            return 0

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def settle_production(self) -> int:
        """Stop the source and return how many events it produced in all."""
        self.control.write_text("stop")
        last, stable_since = -1, time.monotonic()
        while time.monotonic() - stable_since < 1.0:
            now = self.produced()
            if now != last:
                last, stable_since = now, time.monotonic()
            time.sleep(0.1)
        return last
