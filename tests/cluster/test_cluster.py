"""The whole cluster at once: PostgreSQL and nats-server started here, two front-ends and two
workers as real ``aurora collector --role ...`` processes, a real sensor process (spool,
fail-over) enrolled with both front-ends, and test sensors on gRPC/mTLS. Front-ends and workers
are SIGKILLed mid-stream, nats-server and PostgreSQL restarted under load, a command crosses
nodes; every event must be stored exactly once and every console must show the same fleet.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator

import pytest
from client import Stream
from cluster_support import ResendingSensor, batch_stream_depth, batches

from aurora.collector.bus.nats_batches import STREAM, partition_of
from aurora.collector.store import Store
from aurora.v1 import stream_pb2
from pgserver import PgServer

from .cluster import (
    Cluster,
    counted,
    held_partitions,
    hosts_on,
    running_cluster,
    stored_numbers,
    wait_until,
)
from .nodes import AuroraNode

pytestmark = [pytest.mark.postgresql, pytest.mark.nats, pytest.mark.slow]
RULE_UID = "5b0f6c1e-6c55-4a43-9d0e-3f1f4a7a0002"


@pytest.fixture(scope="module")
def cluster(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(pg_server, tmp_path_factory.mktemp("cluster")) as running:
        yield running


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
    todo = batches(150, 40, evil_every=2, trees=3)
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
    # With the default suppression window: one alert per (rule, process tree), raised once
    # across the kill (the new worker folds into the dead one's alerts), and each counts
    # every match sent exactly once (none lost between commit and fold, none counted twice
    # from a redelivered batch).
    # (The built-in pack's rules on execution from /tmp match the same events: the same holds
    # for each of them.)
    alerts = store.list_alerts(sensor_id=ident.sensor_id, limit=1000)
    raised = collections.Counter((a.rule_uid, a.dedup_key) for a in alerts)
    assert set(raised.values()) == {1}, raised
    counts: dict[str, list[int]] = collections.defaultdict(list)
    for a in alerts:
        counts[a.rule_uid].append(a.count)
    assert RULE_UID in counts
    assert all(sorted(c) == [25, 25, 25] for c in counts.values()), counts
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
