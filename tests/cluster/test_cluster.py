"""The whole cluster at once: PostgreSQL and nats-server started here, two front-ends and two
workers as real ``aurora collector --role ...`` processes, a real sensor process (spool,
fail-over) enrolled with both front-ends, and test sensors on gRPC/mTLS. Front-ends and workers
are SIGKILLed mid-stream, nats-server and PostgreSQL restarted under load, a command crosses
nodes; every event must be stored exactly once and every console must show the same fleet.
"""

from __future__ import annotations

import collections
import re
import shutil
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from client import Identity, Stream, enroll
from cluster_support import ResendingSensor, batch_stream_depth, batches, rules_dir
from cryptography import x509
from tests.natsserver import NatsServer

from agent.helpers import free_port
from aurora.collector.bus.nats_batches import partition_of
from aurora.collector.bus.nats_link import NatsLink
from aurora.collector.pki import fingerprint
from aurora.collector.store import Store, open_store
from aurora.collector.store.base import EventQuery
from aurora.collector.tokens import create_token
from aurora.sensor.enrollment import enroll as enroll_sensor
from aurora.sensor.identity import load_identity
from aurora.v1 import stream_pb2
from pgserver import PgServer

from .nodes import AuroraNode, SensorProcess

pytestmark = [pytest.mark.postgresql, pytest.mark.nats, pytest.mark.slow]
RULE_UID = "5b0f6c1e-6c55-4a43-9d0e-3f1f4a7a0002"


@dataclass
class Cluster:
    root: Path
    pg: PgServer
    nats: NatsServer
    store_url: str
    fronts: dict[str, AuroraNode]
    workers: list[AuroraNode]
    api_ports: dict[str, int]
    sensor_ports: dict[str, int]
    store: Store
    link: NatsLink
    password: str

    def endpoint(self, front: str) -> str:
        return f"127.0.0.1:{self.sensor_ports[front]}"

    def console(self, front: str) -> httpx.Client:
        """A logged-in REST client of that front-end's console."""
        ctx = ssl.create_default_context(cafile=str(self.root / "a" / "pki" / "ca.crt"))
        client = httpx.Client(
            base_url=f"https://127.0.0.1:{self.api_ports[front]}", verify=ctx, timeout=20
        )
        login = client.post("/api/v1/login", json={"name": "admin", "password": self.password})
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        return client

    def token(self) -> str:
        return create_token(self.store, 600, 1).token

    def test_sensor(self, front: str, hostname: str) -> Identity:
        ca = (self.root / "a" / "pki" / "ca.crt").read_bytes()
        return enroll(self.endpoint(front), self.token(), ca, hostname)

    def real_sensor(self, name: str, total: int) -> tuple[str, SensorProcess]:
        """A sensor enrolled through front-end a, so its endpoints are [a, b]."""
        sensor_dir = self.root / name
        fingerprint = _fingerprint(self.root / "a" / "pki" / "ca.crt")
        enroll_sensor(self.endpoint("a"), self.token(), fingerprint, sensor_dir)
        sid = load_identity(sensor_dir).sensor_id
        return sid, SensorProcess(sensor_dir, total, self.root / f"{name}.log")


def _fingerprint(ca_path: Path) -> str:
    return fingerprint(x509.load_pem_x509_certificate(ca_path.read_bytes()))


def _collector(store_url: str, bus: str, **extra: Any) -> dict[str, Any]:
    return {"store": store_url, "bus": bus, "node_heartbeat_s": 0.5, **extra}


@pytest.fixture(scope="module")
def cluster(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    nats = NatsServer(root / "nats")
    nats.start()
    store_url = pg_server.new_database()
    ports = {"a": free_port(), "b": free_port()}
    api_ports = {"a": free_port(), "b": free_port()}
    endpoints = [f"127.0.0.1:{ports['a']}", f"127.0.0.1:{ports['b']}"]
    rules = rules_dir(root)
    fronts = {
        name: AuroraNode(
            root,
            name,
            {
                "collector": _collector(
                    store_url,
                    nats.url,
                    role="frontend",
                    state_dir=str(root / name),
                    listen=f"127.0.0.1:{ports[name]}",
                    advertised_endpoint=endpoints,
                ),
                "api": {"listen": f"127.0.0.1:{api_ports[name]}"},
                "detection": {"enabled": False},
            },
        )
        for name in ("a", "b")
    }
    workers = [
        AuroraNode(
            root,
            f"w{k}",
            {
                "collector": _collector(
                    store_url,
                    nats.url,
                    role="worker",
                    state_dir=str(root / f"w{k}"),
                    listen="127.0.0.1:0",
                ),
                "detection": {
                    "enabled": True,
                    "rule_dirs": [str(rules)],
                    "sigma_auto_install": False,
                    # Every match its own alert (see test_a_worker_killed_mid_stream...).
                    "suppression_window_s": 0,
                },
            },
        )
        for k in (1, 2)
    ]
    started: list[AuroraNode] = []
    link = None
    store = None
    try:
        started.append(fronts["a"].start())
        # Every front-end serves the same CA (docs/scale-out.md).
        (root / "b").mkdir(mode=0o700)
        shutil.copytree(root / "a" / "pki", root / "b" / "pki")
        started.append(fronts["b"].start())
        for w in workers:
            started.append(w.start())
        link = NatsLink.open(nats.url, "cluster-test")
        store = open_store(root, store_url)
        yield Cluster(
            root,
            pg_server,
            nats,
            store_url,
            fronts,
            workers,
            api_ports,
            ports,
            store,
            link,
            fronts["a"].admin_password(),
        )
    finally:
        for node in [*fronts.values(), *workers]:
            node.stop()
        if store is not None:
            store.close()
        if link is not None:
            link.close()
        nats.stop()


def wait_until(cond: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def counted(store: Store, sensor_id: str) -> collections.Counter[int]:
    """How many times each sequence number of the sensor is stored."""
    found = store.search_events(EventQuery(sensor_ids=[sensor_id], limit=1_000_000))
    return collections.Counter(e.seq for e in found)


def stored_numbers(store: Store, sensor_id: str) -> list[int]:
    found = store.search_events(EventQuery(sensor_ids=[sensor_id], limit=1_000_000))
    return sorted(e.event["unmapped"]["n"] for e in found)


def hosts_on(console: httpx.Client) -> dict[str, dict[str, Any]]:
    resp = console.get("/api/v1/hosts", params={"limit": 500})
    assert resp.status_code == 200, resp.text
    return {h["sensor_id"]: h for h in resp.json()["items"]}


def held_partitions(worker: AuroraNode) -> set[int]:
    """The partitions this worker process holds now, from what it logged."""
    held: set[int] = set()
    for number, what in re.findall(
        r"partition (\d+):? (taken|released|lease lost)",
        worker.log_path.read_text(errors="replace"),
    ):
        (held.add if what == "taken" else held.discard)(int(number))
    return held


def test_a_front_end_killed_mid_stream_its_sensors_move_and_nothing_is_stored_twice(
    cluster: Cluster,
) -> None:
    total = 30_000
    sid, sensor = cluster.real_sensor("sensor1", total)
    pinned = Stream(cluster.endpoint("a"), cluster.test_sensor("a", "pinned-to-a"))
    pinned.hello()  # a sensor that will not come back: its host must be shown disconnected
    console_b = cluster.console("b")
    store = cluster.store
    try:
        wait_until(lambda: store.count_events(sid) >= 3_000, "the first 3,000 events", 60)
        host = store.get_host(sid)
        assert host is not None and host.connected and host.holder.endswith("/a")
        cluster.fronts["a"].kill()
        assert store.count_events(sid) < total, "the stream had finished: the kill proved nothing"
        wait_until(lambda: store.count_events(sid) >= total, "every event through b", 120)
        assert stored_numbers(store, sid) == list(range(1, total + 1))
        assert set(counted(store, sid).values()) == {1}
        # Every console shows the fleet as it is: the moved sensor on b, the pinned one gone.
        shown = hosts_on(console_b)
        assert shown[sid]["connected"] and shown[sid]["holder"].endswith("/b")
        wait_until(
            lambda: not hosts_on(console_b)[pinned.ident.sensor_id]["connected"],
            "b's console to show the host held by the dead front-end disconnected",
            10,
        )
        # a comes back: it marks what it held disconnected, never what b holds now.
        cluster.fronts["a"].start()
        console_a = cluster.console("a")
        try:
            shown = hosts_on(console_a)
        finally:
            console_a.close()
        assert shown[sid]["connected"] and not shown[pinned.ident.sensor_id]["connected"]
    finally:
        pinned.close()
        console_b.close()
        sensor.stop()


def _kill_once_acked(cluster: Cluster, consumer: str, batches_: int, worker: AuroraNode) -> None:
    from aurora.collector.bus.nats_batches import STREAM

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            info = cluster.link.call(cluster.link.js.consumer_info(STREAM, consumer))
            if info.ack_floor is not None and (info.ack_floor.consumer_seq or 0) >= batches_:
                break
        except Exception:  # the consumer is not created yet
            pass
        time.sleep(0.005)
    worker.kill()


def test_a_worker_killed_mid_stream_its_batches_are_redelivered_once(cluster: Cluster) -> None:
    wait_until(
        lambda: sorted(len(held_partitions(w)) for w in cluster.workers) == [8, 8],
        "an even split of the partitions",
        30,
    )
    victim = cluster.workers[0]
    mine = held_partitions(victim)
    for i in range(64):  # sensor ids are random: enrol until one hashes onto the victim
        ident = cluster.test_sensor("b", f"wk{i}")
        if partition_of(ident.sensor_id) in mine:
            break
    else:
        raise AssertionError("no sensor landed on the victim's partitions")
    todo = batches(150, 40, evil_every=10)
    consumer = f"batches-p{partition_of(ident.sensor_id)}"
    killer = threading.Thread(target=_kill_once_acked, args=(cluster, consumer, 10, victim))
    killer.start()
    ResendingSensor(cluster.endpoint("b"), ident).deliver(todo, pace_s=0.01, deadline_s=60)
    killer.join()
    store = cluster.store
    assert store.count_events(ident.sensor_id) < 150 * 40, "the worker was not killed mid-stream"
    # The other worker takes the dead one's partitions once their leases expire.
    wait_until(lambda: store.count_events(ident.sensor_id) >= 150 * 40, "every event stored", 90)
    seqs = counted(store, ident.sensor_id)
    assert len(seqs) == 150 * 40 and set(seqs.values()) == {1}
    alerts = store.list_alerts(sensor_id=ident.sensor_id, limit=1000)
    per_rule = collections.Counter(a.rule_uid for a in alerts)
    assert per_rule[RULE_UID] == 15 and set(per_rule.values()) == {15}, per_rule
    assert {a.count for a in alerts} == {1}
    victim.start()  # back for the next tests


def test_nats_and_postgresql_restarted_under_load_pause_ingest_and_lose_nothing(
    cluster: Cluster,
) -> None:
    total = 40_000
    sid, sensor = cluster.real_sensor("sensor2", total)
    store = cluster.store
    try:
        wait_until(lambda: store.count_events(sid) >= 2_000, "ingest under way", 60)
        cluster.nats.restart()
        before = store.count_events(sid)
        wait_until(
            lambda: store.count_events(sid) >= before + 2_000, "ingest after NATS is back", 60
        )
        assert store.count_events(sid) < total, "the stream had finished before the restart"
        cluster.pg.stop()
        cluster.pg.start()
        wait_until(lambda: _count_or_zero(store, sid) >= total, "every event stored", 120)
        assert stored_numbers(store, sid) == list(range(1, total + 1))
        assert set(counted(store, sid).values()) == {1}
        assert batch_stream_depth(cluster.link) == 0
    finally:
        sensor.stop()


def _count_or_zero(store: Store, sid: str) -> int:
    try:
        return store.count_events(sid)
    except Exception:  # the pool's connection broken by the restart is replaced on next use
        return 0


def test_a_command_requested_on_one_node_reaches_the_sensor_on_the_other(
    cluster: Cluster,
) -> None:
    ident = cluster.test_sensor("a", "cmd-host")
    sensor = Stream(cluster.endpoint("a"), ident)
    consoles = {name: cluster.console(name) for name in ("a", "b")}
    try:
        sensor.hello()
        wait_until(
            lambda: hosts_on(consoles["b"]).get(ident.sensor_id, {}).get("connected"),
            "b's console to show the host connected to a",
            10,
        )
        resp = consoles["b"].post(
            f"/api/v1/hosts/{ident.sensor_id}/actions",
            json={"action": "kill", "params": {"pid": 4242, "tree": True}},
        )
        assert resp.status_code == 202, resp.text
        command_id = resp.json()["command_id"]
        got = sensor.recv_kind("command", timeout=15)
        assert got.command_id == command_id
        sensor.send(
            result=stream_pb2.CommandResult(
                command_id=command_id, status=stream_pb2.COMMAND_STATUS_SUCCEEDED
            )
        )
        for name, console in consoles.items():
            wait_until(
                lambda c=console: (
                    c.get(f"/api/v1/actions/{command_id}").json().get("state") == "succeeded"
                ),
                f"{name}'s console to show the result",
                15,
            )
    finally:
        sensor.close()
        for console in consoles.values():
            console.close()


def _start_alone(cluster: Cluster, name: str, role: str, store: str, bus: str) -> AuroraNode:
    return AuroraNode(
        cluster.root,
        name,
        {
            "collector": _collector(
                store, bus, role=role, state_dir=str(cluster.root / name), listen="127.0.0.1:0"
            ),
            "api": {"listen": f"127.0.0.1:{free_port()}"},
            "detection": {"enabled": False},
        },
    )


@pytest.mark.parametrize(
    ("fault", "role"),
    [
        ("postgresql-unreachable", "worker"),
        ("postgresql-wrong-password", "frontend"),
        ("nats-unreachable", "frontend"),
        ("nats-unreachable", "worker"),
    ],
)
def test_a_node_that_cannot_reach_the_cluster_says_so_in_one_line(
    cluster: Cluster, fault: str, role: str
) -> None:
    store, bus = cluster.store_url, cluster.nats.url
    if fault == "postgresql-unreachable":
        store = re.sub(r":\d+/", f":{free_port()}/", store)
    elif fault == "postgresql-wrong-password":
        store = store.replace(":aurora-test-password@", ":not-the-password@")
    else:
        bus = f"nats://127.0.0.1:{free_port()}"
    node = _start_alone(cluster, f"bad-{fault}-{role}", role, store, bus)
    with pytest.raises(AssertionError, match="did not start"):
        node.start(timeout=60)
    assert node.proc is not None and node.proc.returncode == 1
    lines = node.log_path.read_text().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aurora: "), lines
    if fault.startswith("postgresql"):
        assert "postgresql://aurora@127.0.0.1:" in lines[0], lines  # named, never its password
        assert "password@" not in lines[0] and "not-the-password" not in lines[0], lines
    else:
        assert lines[0].startswith(f"aurora: cannot reach NATS at {bus}: "), lines
    assert not (cluster.root / f"bad-{fault}-{role}" / "aurora.db").exists()
