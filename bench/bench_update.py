"""Signed self-update duration against a plain sensor restart, measured side by side.

A real collector (mTLS, SQLite) runs in this process; the real eBPF sensor runs under the update
launcher. Each round rolls out a real package (this project's wheel with a bumped version plus
its five BPF objects, signed with Ed25519) and times it from staging to the sensor's "installed"
result (download over the stream, verify, install, switch, restart, reconnect, confirm), then
times a plain restart of the same sensor (stop, start, reconnect) as the baseline. Needs root.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.update.packages import build_wheel, later, new_key, signed_package  # noqa: E402

from aurora.collector.server import Collector  # noqa: E402
from aurora.collector.store.base import FINAL_COMMAND_STATES  # noqa: E402
from aurora.collector.tokens import create_token  # noqa: E402
from aurora.config import AuroraConfig  # noqa: E402
from aurora.sensor.enrollment import enroll  # noqa: E402
from aurora.sensor.identity import load_identity  # noqa: E402


def wait(cond: Callable[[], bool], timeout: float, what: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what() if callable(what) else what}")
        time.sleep(0.02)


class Bench:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        key = new_key(tmp / "release.key")
        self.key = key
        cfg = AuroraConfig.model_validate(
            {
                "collector": {
                    "state_dir": str(tmp / "collector"),
                    "listen": "127.0.0.1:0",
                    "release_public_key": f"{key}.pub",
                },
                "detection": {"enabled": False},
            }
        )
        self.collector = Collector(cfg)
        self.collector.start()
        assert self.collector.store is not None and self.collector.rollouts is not None
        self.store, self.rollouts = self.collector.store, self.collector.rollouts
        self.endpoint = f"127.0.0.1:{self.collector.port}"
        self.state = tmp / "sensor"
        token = create_token(self.store, 3600, 1)
        enroll(self.endpoint, token.token, self.collector.ca_fingerprint, self.state)
        self.sid = load_identity(self.state).sensor_id
        self.config = tmp / "aurora.toml"
        self.config.write_text("[sensor]\nheartbeat_interval_s = 1.0\nreconnect_min_s = 0.1\n")
        self.launcher: subprocess.Popen[bytes] | None = None

    def session(self) -> object | None:
        assert self.collector.stream is not None
        return self.collector.stream.sessions.get(self.sid)

    def start(self) -> None:
        before = self.session()
        child = ["-m", "aurora", "--config", str(self.config), "sensor"]
        child += ["--state-dir", str(self.state), "--collector", self.endpoint]
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        launcher = [sys.executable, "-m", "aurora.sensor.update.launcher"]
        with (self.tmp / "sensor.log").open("ab") as log:
            self.launcher = subprocess.Popen(
                [*launcher, "--state-dir", str(self.state), "--", *child],
                stdout=log,
                stderr=log,
                env=env,
            )
        log = self.tmp / "sensor.log"
        wait(
            lambda: self.session() not in (None, before),
            120,
            lambda: f"the sensor to connect; its log ends:\n{log.read_text()[-3000:]}",
        )

    def stop(self) -> None:
        if self.launcher is not None and self.launcher.poll() is None:
            self.launcher.send_signal(signal.SIGTERM)
            self.launcher.wait(60)

    def update(self, package: Path) -> tuple[float, float]:
        """Seconds to the "restarting" stage (download, verify, install) and to the result."""
        t0 = time.monotonic()
        rollout = self.rollouts.stage(package, [self.sid], requested_by="bench")
        cid = rollout.targets[0].command_id
        staged = 0.0
        while True:
            cmd = self.store.get_command(cid)
            assert cmd is not None
            if not staged and cmd.stage == "restarting":
                staged = time.monotonic() - t0
            if cmd.state in FINAL_COMMAND_STATES:
                break
            time.sleep(0.02)
        if cmd.state != "succeeded":
            raise SystemExit(f"update failed: {cmd.error_code} {cmd.message}")
        return staged, time.monotonic() - t0

    def restart(self) -> float:
        t0 = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - t0

    def close(self) -> None:
        self.stop()
        self.collector.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_update needs root (the eBPF sensor)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="aurora-bench-update-") as tmp_name:
        tmp = Path(tmp_name)
        bench = Bench(tmp)
        packages = []
        for i in range(1, args.rounds + 1):
            wheel = build_wheel(later(i), tmp / "build")
            packages.append(signed_package(wheel, bench.key, tmp / f"aurora-{later(i)}.pkg"))
        size = packages[0].stat().st_size
        wheel_size = next((tmp / "build" / "wheels").glob("*.whl")).stat().st_size
        try:
            bench.start()
            updates, staged, restarts = [], [], []
            for package in packages:
                to_restart, total = bench.update(package)
                staged.append(to_restart)
                updates.append(total)
                restarts.append(bench.restart())
                print(
                    f"round {len(updates)}: update {total:.2f} s "
                    f"(download+verify+install {to_restart:.2f} s), plain restart "
                    f"{restarts[-1]:.2f} s",
                    flush=True,
                )
        finally:
            bench.close()
    update_s, restart_s = statistics.median(updates), statistics.median(restarts)
    print(f"package: {size / 1e6:.2f} MB (wheel {wheel_size / 1e6:.2f} MB + 5 BPF objects)")
    print(
        f"update, staging to healthy on the new version (median of {args.rounds}): {update_s:.2f} s"
    )
    print(f"  of which download + verify + install: {statistics.median(staged):.2f} s")
    print(f"baseline, plain sensor restart to reconnection (median): {restart_s:.2f} s")
    print(f"ratio update / restart: {update_s / restart_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
