"""SIGHUP reloads a running `aurora collector`'s rules (what an operator does after `aurora rules
update`, which runs in a process of its own): a real collector subprocess, a test sensor over
mTLS (tests/collector/client.py), and a rule file added to its ``rule_dirs`` while it runs; and
`aurora run`, which reloads on SIGHUP too."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora.collector.store.sqlite import SQLiteStore
from aurora.collector.tokens import create_token

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collector"))
from client import Stream, enroll, make_event

REPO = Path(__file__).resolve().parents[2]
RULE_ID = "9a4c2e10-1f3b-4d5e-8a7b-6c5d4e3f2a17"
RULE = f"""
title: Test rule added before SIGHUP
id: {RULE_ID}
status: test
level: high
logsource: {{product: linux, category: process_creation}}
detection:
  sel: {{Image|endswith: '/sighup-evil'}}
  condition: sel
"""


class CollectorProcess:
    """`aurora collector` with detection on and ``rules`` as its rule directory; its log lines
    are collected as they come."""

    def __init__(self, tmp_path: Path, rules: Path) -> None:
        self.state = tmp_path / "state"
        config = tmp_path / "aurora.toml"
        config.write_text(f'[detection]\nenabled = true\nrule_dirs = ["{rules}"]\n')
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"), AURORA_CONFIG=str(config))
        listen = ["--listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aurora", "collector", "--state-dir", str(self.state), *listen],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()
        try:
            ready = self.wait_for(r"collector ready on [\d.]+:(\d+)")
        except BaseException:
            self.stop()
            raise
        self.port = int(ready.group(1))

    def _collect(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := re.search(pattern, line):
                    return m
            assert self.proc.poll() is None, "collector exited: " + "".join(self.lines)
            time.sleep(0.05)
        raise AssertionError(f"no log line matching {pattern!r}: " + "".join(self.lines))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(10)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    return d


@pytest.fixture
def collector(tmp_path: Path, rules: Path) -> Iterator[CollectorProcess]:
    c = CollectorProcess(tmp_path, rules)
    try:
        yield c
    finally:
        c.stop()


def _test_rule_alerts(store: SQLiteStore, sensor_id: str) -> list[int]:
    alerts = store.list_alerts(sensor_id=sensor_id)
    return [a.first_seen_ms for a in alerts if a.rule_uid == RULE_ID]


def test_sighup_loads_a_rule_added_to_rule_dirs(collector: CollectorProcess, rules: Path) -> None:
    store = SQLiteStore(collector.state / "aurora.db")
    addr = f"localhost:{collector.port}"
    ca_pem = (collector.state / "pki" / "ca.crt").read_bytes()
    ident = enroll(addr, create_token(store, 60, 1).token, ca_pem)
    sensor = Stream(addr, ident)
    try:
        sensor.hello()
        before = make_event(1)
        before["process"]["file"]["path"] = "/opt/app/sighup-evil"
        sensor.batch(1, [before])
        assert sensor.recv_kind("ack").accepted
        assert _test_rule_alerts(store, ident.sensor_id) == []

        (rules / "sighup.yml").write_text(RULE)
        collector.proc.send_signal(signal.SIGHUP)
        collector.wait_for(r"rules reloaded, \d+ rules \(generation 1\)")

        after = make_event(2)
        after["process"]["file"]["path"] = "/opt/app/sighup-evil"
        sensor.batch(2, [after])
        assert sensor.recv_kind("ack").accepted
        # The alert is committed with the batch its event came in, before the ack.
        assert _test_rule_alerts(store, ident.sensor_id) == [after["time"]]
        assert collector.proc.poll() is None  # SIGHUP did not stop it
    finally:
        sensor.close()
        store.close()


def test_sighup_reloads_the_rules_of_aurora_run(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURORA")}
    env["PYTHONPATH"] = str(REPO / "src")
    args = ["--state-dir", str(tmp_path / "state"), "--no-sensor"]
    args += ["--listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aurora", "run", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def wait_log(text: str) -> None:
        deadline = time.monotonic() + 60
        while text not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, f"no {text!r} in: " + log.read_text()
            time.sleep(0.1)

    try:
        wait_log("aurora ready")
        proc.send_signal(signal.SIGHUP)
        wait_log("rules reloaded")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text()
