"""Front-ends and workers on a real nats-server, with sensors on real gRPC/mTLS streams: a batch
is acknowledged once JetStream holds it, a worker killed mid-stream loses nothing and stores
nothing twice, a restarted nats-server pauses ingest, commands and host state cross nodes, and a
half-configured node is refused.

Until the PostgreSQL store lands, each node here has a SQLite file of its own
(``shared_store_required=False``); the two front-ends of the command test share one file.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from client import Stream, enroll
from cluster_support import (
    REPO,
    NodeProcess,
    ResendingSensor,
    batch_stream_depth,
    batches,
    node_config,
    rules_dir,
)
from tests.natsserver import NatsServer, nats_server

from aurora.api.server import start_api
from aurora.collector.bus.nats_batches import STREAM, partition_of
from aurora.collector.bus.nats_link import NatsLink
from aurora.collector.server import Collector
from aurora.collector.store import open_store
from aurora.collector.store.base import EventQuery
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.v1 import stream_pb2
from conftest import addr

pytestmark = pytest.mark.nats
__all__ = ["nats_server"]


def start_node(config: dict[str, object]) -> Collector:
    node = Collector(AuroraConfig.model_validate(config), shared_store_required=False)
    node.start()
    return node


@pytest.fixture
def link(nats_server: NatsServer) -> Iterator[NatsLink]:
    lk = NatsLink.open(nats_server.url, "test")
    yield lk
    lk.close()


def enroll_at(node: Collector, hostname: str = "h1"):  # type: ignore[no-untyped-def]
    assert node.store is not None and node.ca is not None
    return enroll(addr(node), create_token(node.store, 60, 1).token, node.ca.cert_pem, hostname)


def stored_seqs(state: Path, sensor_id: str) -> collections.Counter[int]:
    store = open_store(state)
    try:
        found = store.search_events(EventQuery(sensor_ids=[sensor_id], limit=1_000_000))
        return collections.Counter(e.seq for e in found)
    finally:
        store.close()


def wait_until(cond, what: str, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_batch_is_acknowledged_only_once_jetstream_holds_it(
    tmp_path: Path, nats_server: NatsServer, link: NatsLink
) -> None:
    front = start_node(node_config(tmp_path / "front", nats_server.url, "frontend"))
    sensor = None
    try:
        ident = enroll_at(front)
        sensor = Stream(addr(front), ident)
        sensor.hello()
        assert nats_server.proc is not None
        nats_server.proc.send_signal(signal.SIGSTOP)  # JetStream cannot answer
        try:
            sensor.batch(1, batches(1, 5)[0][1])
            with pytest.raises(queue.Empty):
                sensor.recv_kind("ack", timeout=1.5)
        finally:
            nats_server.proc.send_signal(signal.SIGCONT)
        ack = sensor.recv_kind("ack", timeout=10)
        assert ack.accepted and (ack.first_seq, ack.count) == (1, 5)
        assert batch_stream_depth(link) == 1  # held by JetStream, no worker has it yet
    finally:
        if sensor is not None:
            sensor.close()
        front.stop()


def _kill_once_acked(link: NatsLink, consumer: str, batches: int, worker: NodeProcess) -> None:
    """SIGKILL the worker once it has stored and acknowledged ``batches`` batches: mid-stream,
    whatever the machine's load."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            info = link.call(link.js.consumer_info(STREAM, consumer))
            if info.ack_floor is not None and (info.ack_floor.consumer_seq or 0) >= batches:
                break
        except Exception:  # not created yet
            pass
        time.sleep(0.005)
    worker.kill()


def test_a_worker_killed_mid_stream_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, nats_server: NatsServer, link: NatsLink
) -> None:
    rules = rules_dir(tmp_path)
    front = start_node(node_config(tmp_path / "front", nats_server.url, "frontend"))
    # The default suppression window: repeats fold into their alert in the transaction storing
    # their events, and the restarted worker looks up the alerts raised before the kill.
    worker_cfg = node_config(tmp_path / "worker", nats_server.url, "worker", rules=rules)
    worker = NodeProcess(worker_cfg)
    todo = batches(150, 40, evil_every=2, trees=3)
    try:
        ident = enroll_at(front)
        sensor = ResendingSensor(addr(front), ident)
        consumer = f"batches-p{partition_of(ident.sensor_id)}"
        killer = threading.Thread(target=_kill_once_acked, args=(link, consumer, 10, worker))
        killer.start()
        sensor.deliver(todo, pace_s=0.01, deadline_s=60)
        killer.join()
        left = batch_stream_depth(link)
        assert left > 0, "the worker was killed after it had finished; nothing was redelivered"
        before = stored_seqs(tmp_path / "worker", ident.sensor_id)
        assert 0 < len(before) < 150 * 40, "the worker was not killed mid-stream"
        worker = NodeProcess(worker_cfg)  # the same node back: it takes the partitions again
        wait_until(lambda: batch_stream_depth(link) == 0, "the batches to be stored", 60)
        worker.stop()
        seqs = stored_seqs(tmp_path / "worker", ident.sensor_id)
        assert len(seqs) == 150 * 40 and set(seqs.values()) == {1}
        store = open_store(tmp_path / "worker")
        try:
            alerts = store.list_alerts(limit=1000)
        finally:
            store.close()
        # The 75 evil events, 25 in each of 3 process trees, raised one alert per tree and rule
        # they match (ours and the pack's rule on executables in /tmp), raised once across the
        # kill and counting each of its tree's matches once: none lost, none counted twice.
        raised = collections.Counter((a.rule_uid, a.dedup_key) for a in alerts)
        assert set(raised.values()) == {1}, raised
        counts: dict[str, list[int]] = collections.defaultdict(list)
        for a in alerts:
            counts[a.rule_uid].append(a.count)
        assert "5b0f6c1e-6c55-4a43-9d0e-3f1f4a7a0002" in counts
        assert all(sorted(c) == [25, 25, 25] for c in counts.values()), counts
    finally:
        worker.stop()
        front.stop()


def test_ingest_pauses_while_nats_restarts_and_nothing_is_lost(
    tmp_path: Path, nats_server: NatsServer, link: NatsLink
) -> None:
    """Front-end and worker in one process (role all on NATS), so batches still cross JetStream."""
    node = start_node(node_config(tmp_path / "node", nats_server.url, "all"))
    try:
        ident = enroll_at(node)
        sensor = ResendingSensor(addr(node), ident)
        restarter = threading.Timer(0.5, nats_server.restart)
        restarter.start()
        todo = batches(120, 30)
        sensor.deliver(todo, pace_s=0.01, deadline_s=90)
        restarter.join()
        wait_until(lambda: batch_stream_depth(link) == 0, "the batches to be stored", 60)
        assert node.store is not None
        found = node.store.search_events(EventQuery(sensor_ids=[ident.sensor_id], limit=100_000))
        seqs = collections.Counter(e.seq for e in found)
        assert len(seqs) == 120 * 30 and set(seqs.values()) == {1}
    finally:
        node.stop()


def _read_live(client: httpx.Client, out: list[tuple[str, Any]], ready: threading.Event) -> None:
    """Collect the console's live events until a command reaches a final state."""
    with client.stream("GET", "/api/v1/stream", timeout=30) as resp:
        assert resp.status_code == 200
        ready.set()
        kind = ""
        for line in resp.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                out.append((kind, data))
                if kind == "action" and data.get("final"):
                    return


def test_a_command_requested_on_one_node_reaches_the_sensor_on_the_other(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    """Two front-ends sharing one SQLite file (a stand-in for the shared store): the sensor's
    stream is held by A; the request is made on B, and B's console sees live what happens on A
    (the host connecting, the command's progress and result)."""
    a = start_node(node_config(tmp_path / "a", nats_server.url, "frontend"))
    (tmp_path / "b").mkdir(mode=0o700)
    (tmp_path / "b" / "aurora.db").symlink_to(tmp_path / "a" / "aurora.db")
    b_config = node_config(tmp_path / "b", nats_server.url, "frontend")
    b_config["api"] = {"listen": "127.0.0.1:0"}
    b = start_node(b_config)
    assert b.store is not None and b.commands is not None
    api, password = start_api(b.store, b.config, tmp_path / "b", bus=b.bus)
    ctx = ssl.create_default_context(cafile=str(tmp_path / "b" / "pki" / "ca.crt"))
    browser = httpx.Client(base_url=api.url, verify=ctx, timeout=20)
    sensor = None
    try:
        login = browser.post("/api/v1/login", json={"name": "admin", "password": password})
        assert login.status_code == 200, login.text
        live: list[tuple[str, Any]] = []
        ready = threading.Event()
        reader = threading.Thread(target=_read_live, args=(browser, live, ready), daemon=True)
        reader.start()
        assert ready.wait(10)
        time.sleep(0.5)  # the stream subscribes right after its headers; give it that moment
        ident = enroll_at(a)
        sensor = Stream(addr(a), ident)
        sensor.hello()
        wait_until(
            lambda: any(k == "host" and d["sensor_id"] == ident.sensor_id for k, d in live),
            "B's console to show the host connected to A",
            10,
        )
        cmd = b.commands.enqueue(ident.sensor_id, "kill", {"pid": 4242, "tree": True})
        got = sensor.recv_kind("command", timeout=10)
        assert got.command_id == cmd.command_id
        sensor.send(
            result=stream_pb2.CommandResult(
                command_id=cmd.command_id, status=stream_pb2.COMMAND_STATUS_SUCCEEDED
            )
        )
        reader.join(15)
        states = [d["state"] for k, d in live if k == "action"]
        assert states[-1] == "succeeded", live
        stored = b.store.get_command(cmd.command_id)
        assert stored is not None and stored.state == "succeeded"
    finally:
        if sensor is not None:
            sensor.close()
        browser.close()
        api.stop()
        b.stop()
        a.stop()


def test_each_sensor_is_stored_by_one_worker_and_the_workers_share_the_sensors(
    tmp_path: Path, nats_server: NatsServer, link: NatsLink
) -> None:
    """Partitioning: two workers split the 16 partitions; all of a sensor's batches reach the
    one that holds its partition, so per-host state sees every event of the host."""
    front = start_node(node_config(tmp_path / "front", nats_server.url, "frontend"))
    workers = [start_node(node_config(tmp_path / "w1", nats_server.url, "worker"))]
    try:
        workers.append(start_node(node_config(tmp_path / "w2", nats_server.url, "worker")))
        held = lambda: [w.partitions.held if w.partitions else [] for w in workers]  # noqa: E731
        wait_until(lambda: sorted(len(h) for h in held()) == [8, 8], "an even split", 30)
        assert set(held()[0]).isdisjoint(held()[1])
        # Sensor ids are random: enrol until each worker's partitions have two sensors.
        idents: list[Any] = []
        for i in range(64):
            ident = enroll_at(front, f"h{i}")
            mine = [k for k, h in enumerate(held()) if partition_of(ident.sensor_id) in h]
            if sum(partition_of(x.sensor_id) in held()[mine[0]] for x in idents) < 2:
                idents.append(ident)
            if len(idents) == 4:
                break
        assert len(idents) == 4
        for ident in idents:
            ResendingSensor(addr(front), ident).deliver(batches(5, 20), 0.0, 30)
        wait_until(lambda: batch_stream_depth(link) == 0, "the batches to be stored", 30)
        owners = []
        for ident in idents:
            per_worker = [w.store.count_events(ident.sensor_id) for w in workers if w.store]
            assert sorted(per_worker) == [0, 100], per_worker  # all in one store, none twice
            owners.append(per_worker.index(100))
            part = partition_of(ident.sensor_id)
            assert part in held()[owners[-1]]
        assert sorted(owners) == [0, 0, 1, 1]
    finally:
        for w in workers:
            w.stop()
        front.stop()


def _aurora(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    env.pop("AURORA_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "aurora", "collector", "--listen", "127.0.0.1:0", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["--role", "worker"], "collector.bus"),
        (["--role", "frontend"], "collector.bus"),
        (["--role", "worker", "--bus", "nats://127.0.0.1:4222"], "collector.store"),
        (["--role", "frontend", "--bus", "nats://127.0.0.1:4222"], "collector.store"),
        (["--bus", "redis://127.0.0.1:6379"], "--bus"),
    ],
)
def test_a_half_configured_node_is_refused_in_one_line(
    tmp_path: Path, args: list[str], key: str
) -> None:
    done = _aurora("--state-dir", str(tmp_path / "s"), *args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"aurora: config error: {key}:"), lines
    assert not (tmp_path / "s" / "aurora.db").exists()


def test_unreachable_nats_at_start_is_refused_in_one_line(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats")
    server.start()
    server.stop()  # stopped: nothing answers on its port any more
    done = _aurora("--state-dir", str(tmp_path / "s"), "--bus", server.url)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"aurora: cannot reach NATS at {server.url}: "), lines
    assert "Connect call failed" in lines[0], lines
