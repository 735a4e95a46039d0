"""Helpers for the cluster tests: node configurations, a collector node in a process of its own,
and a test sensor that resends what was not acknowledged, as the real one does from its spool."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc
from client import Identity, Stream, make_event

from aurora.collector.bus.nats_batches import STREAM
from aurora.collector.bus.nats_link import NatsLink

RULE = """
title: Test evil binary
id: 5b0f6c1e-6c55-4a43-9d0e-3f1f4a7a0002
status: test
level: high
logsource: {product: linux, category: process_creation}
detection:
  sel: {Image|endswith: '/evil'}
  condition: sel
"""
NODE_SCRIPT = Path(__file__).with_name("cluster_node.py")
REPO = Path(__file__).resolve().parents[2]


def node_config(state: Path, bus: str, role: str, *, rules: Path | None = None) -> dict[str, Any]:
    detection: dict[str, Any] = {"enabled": rules is not None}
    if rules is not None:
        detection["rule_dirs"] = [str(rules)]
    return {
        "collector": {
            "state_dir": str(state),
            "listen": "127.0.0.1:0",
            "bus": bus,
            "role": role,
        },
        "detection": detection,
    }


def rules_dir(root: Path) -> Path:
    rules = root / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "evil.yml").write_text(RULE)
    return rules


class NodeProcess:
    """``cluster_node.py`` in a child process; its log is kept in ``<state>.log``."""

    def __init__(self, config: dict[str, Any]) -> None:
        state = Path(config["collector"]["state_dir"])
        state.parent.mkdir(parents=True, exist_ok=True)
        path = state.parent / f"{state.name}.json"
        path.write_text(json.dumps(config))
        self.log_path = state.parent / f"{state.name}.log"
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(NODE_SCRIPT), str(path)],
            stdout=subprocess.PIPE,
            stderr=log,
            env={"PYTHONPATH": f"{REPO / 'src'}:{REPO}", "PATH": "/usr/bin:/bin"},
        )
        log.close()
        lines: queue.Queue[bytes] = queue.Queue()
        assert self.proc.stdout is not None
        out = self.proc.stdout
        self._reader = threading.Thread(target=lambda: [lines.put(b) for b in out], daemon=True)
        self._reader.start()
        try:
            line = lines.get(timeout=60)
        except queue.Empty:
            line = b""
        if not line.startswith(b"READY"):
            self.proc.kill()
            raise AssertionError(f"node did not start: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        self.proc.kill()
        self._reap()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self._reap()

    def _reap(self) -> None:
        self.proc.wait(timeout=60)
        self._reader.join(timeout=10)  # the pipe is at its end once the process is gone
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def batches(
    count: int, size: int, evil_every: int = 0, trees: int = 0
) -> list[tuple[int, list[dict[str, Any]]]]:
    """Varied events; with ``evil_every``, one event of every such batch matches RULE, each with
    its own process. With ``trees``, those processes belong to that many process trees
    (sessions) in turn: a tree's matches are one alert and its repeats inside the suppression
    window."""
    out = []
    for b in range(count):
        first = b * size + 1
        events = [make_event(first + i, class_uid=(1007, 4001, 1001)[i % 3]) for i in range(size)]
        if evil_every and b % evil_every == 0:
            events[0] = make_event(first)
            events[0]["process"]["file"]["path"] = f"/tmp/x{b}/evil"
            if trees:
                events[0]["process"]["session"] = {"uid": f"tree-{(b // evil_every) % trees}"}
        out.append((first, events))
    return out


class ResendingSensor:
    """Sends batches at a pace and resends, on a new stream, those not acknowledged when a
    stream ends: what the real sensor's spool does."""

    def __init__(self, addr: str, ident: Identity) -> None:
        self.addr = addr
        self.ident = ident
        self.reconnects = 0

    def deliver(
        self, todo: list[tuple[int, list[dict[str, Any]]]], pace_s: float, deadline_s: float
    ) -> None:
        pending = dict(todo)
        deadline = time.monotonic() + deadline_s
        while pending:
            assert time.monotonic() < deadline, f"{len(pending)} batches never acknowledged"
            try:
                self._one_stream(pending, pace_s, deadline)
            except (grpc.RpcError, queue.Empty, AssertionError) as exc:
                if isinstance(exc, AssertionError) and "never" in str(exc):
                    raise
            if pending:
                self.reconnects += 1
                time.sleep(0.5)

    def _one_stream(
        self, pending: dict[int, list[dict[str, Any]]], pace_s: float, deadline: float
    ) -> None:
        stream = Stream(self.addr, self.ident)
        try:
            stream.hello()
            for first in sorted(pending):
                stream.batch(first, pending[first])
                self._take_acks(stream, pending, 0.0)
                time.sleep(pace_s)
            while pending and time.monotonic() < deadline:
                if not self._take_acks(stream, pending, 10.0):
                    return
        finally:
            stream.close()

    @staticmethod
    def _take_acks(stream: Stream, pending: dict[int, list[dict[str, Any]]], wait: float) -> bool:
        """Collect the acks that arrived; False once the stream ended."""
        while True:
            try:
                msg = stream.recv(timeout=wait) if wait else stream._in.get_nowait()
            except queue.Empty:
                return True
            if isinstance(msg, grpc.RpcError) or msg is None:
                return False
            kind = msg.WhichOneof("body")
            if kind == "goodbye":
                return False
            if kind == "ack" and msg.ack.accepted:
                pending.pop(msg.ack.first_seq, None)
            wait = 0.0


def batch_stream_depth(link: NatsLink) -> int:
    """Batches in JetStream that no worker has acknowledged yet."""
    info = link.call(link.js.stream_info(STREAM))
    return int(info.state.messages)
