"""Real ``aurora collector --role ...`` processes for the cluster tests, and a real sensor (the
agent: spool, transport, fail-over) in a process of its own, so either can be SIGKILLed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SENSOR_SCRIPT = Path(__file__).with_name("sensor_process.py")


def toml(config: dict[str, dict[str, Any]]) -> str:
    """The few value types these configurations use, as TOML."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "".join(
        f"[{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in section.items()) + "\n"
        for name, section in config.items()
    )


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'src'}:{REPO / 'tests'}:{REPO}")
    env.pop("AURORA_CONFIG", None)
    return env


class AuroraNode:
    """One ``aurora collector`` process; ready once it logs that it is (``start``)."""

    def __init__(self, root: Path, name: str, config: dict[str, dict[str, Any]]) -> None:
        self.name = name
        self.state = root / name
        self.config_path = root / f"{name}.toml"
        self.config_path.write_text(toml(config))
        self.log_path = root / f"{name}.log"
        listen = config.get("api", {}).get("listen", "")
        self.api_port = int(listen.rsplit(":", 1)[1]) if listen else None
        self.stdout: list[str] = []
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 90) -> AuroraNode:
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "aurora", "--config", str(self.config_path), "collector"],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=_env(),
            )
        out = self.proc.stdout
        assert out is not None
        threading.Thread(target=lambda: self.stdout.extend(out), daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_path.read_text(errors="replace")[log_start:]
            ready = "collector ready on" in text or "collector worker ready" in text
            if ready and (self.api_port is None or _answers(self.api_port)):
                return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"{self.name} did not start: {text[-3000:]}")
            time.sleep(0.05)

    def admin_password(self) -> str:
        for line in self.stdout:
            if line.startswith("first console login:"):
                return line.rsplit("'", 2)[1]
        raise AssertionError(f"{self.name} printed no first login: {self.stdout}")

    def kill(self) -> None:
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def _end(self, sig: int) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class SensorProcess:
    """The agent with a counting source (events numbered 1..total in ``unmapped.n``)."""

    def __init__(self, sensor_dir: Path, total: int, log_path: Path) -> None:
        with log_path.open("a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(SENSOR_SCRIPT), str(sensor_dir), str(total)],
                stdout=log,
                stderr=log,
                env=_env(),
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
