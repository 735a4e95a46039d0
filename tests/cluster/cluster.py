"""The cluster the cluster tests run: PostgreSQL (a fresh database), nats-server, two front-ends
and two workers as real ``aurora collector`` processes; and what the tests read from it."""

from __future__ import annotations

import collections
import re
import shutil
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from client import Identity, enroll
from cluster_support import rules_dir
from cryptography import x509
from tests.natsserver import NatsServer

from agent.helpers import free_port
from aurora.collector.bus.nats_link import NatsLink
from aurora.collector.pki import fingerprint
from aurora.collector.store import Store, open_store
from aurora.collector.store.base import EventQuery
from aurora.collector.tokens import create_token
from aurora.sensor.enrollment import enroll as enroll_sensor
from aurora.sensor.identity import load_identity
from pgserver import PgServer

from .nodes import AuroraNode, SensorProcess


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
        fingerprint = ca_fingerprint(self.root / "a" / "pki" / "ca.crt")
        enroll_sensor(self.endpoint("a"), self.token(), fingerprint, sensor_dir)
        sid = load_identity(sensor_dir).sensor_id
        return sid, SensorProcess(sensor_dir, total, self.root / f"{name}.log")


def ca_fingerprint(ca_path: Path) -> str:
    return fingerprint(x509.load_pem_x509_certificate(ca_path.read_bytes()))


def collector_section(store_url: str, bus: str, **extra: Any) -> dict[str, Any]:
    return {"store": store_url, "bus": bus, "node_heartbeat_s": 0.5, **extra}


@contextmanager
def running_cluster(pg_server: PgServer, root: Path) -> Iterator[Cluster]:
    """PostgreSQL's fresh database, nats-server, front-ends a and b, workers w1 and w2."""
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
                "collector": collector_section(
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
                "collector": collector_section(
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
                    # The product's default suppression window: a worker that takes a dead
                    # one's sensors folds repeats into the alerts it raised (see
                    # test_a_worker_killed_mid_stream...).
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
