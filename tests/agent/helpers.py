"""Test helpers: a deterministic event source, a collector in its own process, an agent thread."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aurora.collector.server import Collector
from aurora.config import AuroraConfig
from aurora.sensor.agent import Agent
from aurora.sensor.source import Capability

REPO = Path(__file__).resolve().parents[2]
COLLECTOR_MAIN = Path(__file__).with_name("collector_main.py")


@contextmanager
def in_process_collector(state_dir: Path) -> Iterator[Collector]:
    """A real collector (mTLS on an ephemeral loopback port, SQLite, no detection) in-process."""
    cfg = AuroraConfig.model_validate(
        {
            "collector": {"state_dir": str(state_dir), "listen": "127.0.0.1:0"},
            "detection": {"enabled": False},
        }
    )
    c = Collector(cfg)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def wait_until(cond: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def free_port() -> int:
    """A loopback port that is free now and stays out of the kernel's way until a test binds it.

    Tests hold the port across a collector restart, so it is drawn from below the kernel's
    ephemeral range (``net.ipv4.ip_local_port_range``): a port from ``bind(0)`` could be handed
    to some other process's outgoing connection between the check and the collector's bind.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free loopback port below the ephemeral range")


class CountingSource:
    """A real in-process producer of OCSF process-activity events numbered 1..total.

    ``gate`` (when given) must be set for events to flow, so a test can hold production.
    """

    def __init__(self, total: int, per_poll: int = 500, pad: int = 120) -> None:
        self.total = total
        self.per_poll = per_poll
        self.pad = "p" * pad
        self.produced = 0
        self.gate = threading.Event()
        self.gate.set()
        self.kernel_drops = 0
        self.started = False
        self.stopped = False

    def start(self) -> None:
        self.started = True

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        if self.produced >= self.total or not self.gate.is_set():
            time.sleep(timeout_ms / 1000)
            return []
        n0 = self.produced
        k = min(self.per_poll, self.total - n0)
        self.produced += k
        now = int(time.time() * 1000)
        return [self.event(n, now) for n in range(n0 + 1, n0 + k + 1)]

    def event(self, n: int, now: int) -> dict[str, Any]:
        return {
            "class_uid": 1007,
            "category_uid": 1,
            "activity_id": 1,
            "type_uid": 100701,
            "severity_id": 1,
            "time": now,
            "metadata": {
                "version": "1.8.0",
                "uid": f"evt-{n}",
                "product": {"name": "aurora-test", "vendor_name": "Aurora"},
            },
            "device": {"hostname": "agent-test", "type_id": 1},
            "process": {"pid": 1000 + n % 500, "name": "counter", "cmd_line": self.pad},
            "unmapped": {"n": n},
        }

    def capabilities(self) -> list[Capability]:
        return [Capability("counting", True, "")]

    def drop_counts(self) -> dict[str, int]:
        return {"counting": self.kernel_drops}

    def stop(self) -> None:
        self.stopped = True


class AgentThread:
    """Runs ``Agent.run`` on a thread and keeps its return value or exception."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.result: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.result = self.agent.run()
        except BaseException as exc:
            self.error = exc

    def start(self) -> AgentThread:
        self.thread.start()
        return self

    def stop(self, timeout: float = 20) -> None:
        self.agent.stop()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "agent did not stop"


def sensor_config(state_dir: Path, **sensor: object) -> AuroraConfig:
    base: dict[str, object] = {
        "state_dir": str(state_dir),
        "heartbeat_interval_s": 0.5,
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 0.5,
        "batch_max_delay_ms": 50,
        "spool_fsync": False,
    }
    base.update(sensor)
    return AuroraConfig.model_validate({"sensor": base})


class CollectorProcess:
    """``Collector`` in a child process (so it can be SIGKILLed), on a fixed loopback port."""

    def __init__(self, state_dir: Path, port: int, log_path: Path) -> None:
        self.state_dir = state_dir
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.fingerprint = ""
        self.token = ""

    def start(self, timeout: float = 60) -> CollectorProcess:
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(COLLECTOR_MAIN), str(self.state_dir), str(self.port)],
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
        )
        log.close()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if not line.startswith("READY "):
            self.kill()
            raise AssertionError(f"collector did not start: {self.log_path.read_text()[-2000:]}")
        _, self.fingerprint, self.token = line.split()
        return self

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipe()
