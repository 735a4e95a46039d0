"""Fail-over between collector endpoints: a sensor given several moves on when one dies.

Two relays stand in for two front-ends of one cluster (one collector behind both), so what is
stored shows whether the sensor moved, resent from its spool, and stored every event once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.sensor.agent import Agent
from aurora.sensor.enrollment import enroll
from aurora.sensor.identity import IDENTITY_FILE, load_identity

from .helpers import AgentThread, CountingSource, free_port, sensor_config, wait_until
from .tcp_relay import TcpRelay
from .test_delivery import start_agent, stored_numbers

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Collector, TcpRelay, TcpRelay, Path]]:
    """One collector behind two relays, advertised in that order; a sensor enrolled with it."""
    port = free_port()
    first, second = TcpRelay(("127.0.0.1", port)), TcpRelay(("127.0.0.1", port))
    collector = Collector(
        AuroraConfig.model_validate(
            {
                "collector": {
                    "state_dir": str(tmp_path / "c"),
                    "listen": f"127.0.0.1:{port}",
                    "advertised_endpoint": [first.endpoint, second.endpoint],
                },
                "detection": {"enabled": False},
            }
        )
    )
    collector.start()
    assert collector.store is not None
    token = create_token(collector.store, 3600, 10)
    sensor_dir = tmp_path / "sensor"
    enroll(f"127.0.0.1:{port}", token.token, collector.ca_fingerprint, sensor_dir)
    try:
        yield collector, first, second, sensor_dir
    finally:
        first.kill()
        second.kill()
        collector.stop()


def test_enrolment_hands_out_every_endpoint_in_order(
    cluster: tuple[Collector, TcpRelay, TcpRelay, Path],
) -> None:
    _, first, second, sensor_dir = cluster
    assert load_identity(sensor_dir).endpoints == (first.endpoint, second.endpoint)


def test_front_end_dies_mid_stream_sensor_moves_and_stores_each_event_once(
    cluster: tuple[Collector, TcpRelay, TcpRelay, Path],
) -> None:
    collector, first, _, sensor_dir = cluster
    assert collector.store is not None
    store = collector.store
    sid = load_identity(sensor_dir).sensor_id
    total = 60_000
    agent = start_agent(sensor_dir, CountingSource(total, per_poll=250))
    try:
        wait_until(lambda: store.count_events(sid) >= 10_000, 60, "the first 10,000 events")
        first.kill()
        assert store.count_events(sid) < total, "the stream had finished: the kill proved nothing"
        wait_until(lambda: store.count_events(sid) >= total, 120, "every event via the second")
        wait_until(lambda: agent.agent.spool.status().events_queued == 0, 30, "every ack")
        assert stored_numbers(store, sid) == list(range(1, total + 1))
        assert store.gaps(sid) == []
        assert agent.agent.counters.snapshot()["connects"] >= 2
    finally:
        agent.stop()
    assert agent.error is None and agent.result == 0


def test_a_dead_first_endpoint_costs_one_attempt_not_a_backoff(
    cluster: tuple[Collector, TcpRelay, TcpRelay, Path],
) -> None:
    collector, first, _, sensor_dir = cluster
    assert collector.store is not None
    first.kill()
    sid = load_identity(sensor_dir).sensor_id
    # A long backoff: were the sensor to wait it out before trying the second endpoint, the
    # events would not arrive within the bound below.
    agent = AgentThread(
        Agent(
            sensor_config(sensor_dir, reconnect_min_s=0.2, reconnect_max_s=60),
            CountingSource(2_000),
            executor_factory=lambda: None,
        )
    ).start()
    try:
        store = collector.store
        wait_until(lambda: store.count_events(sid) >= 2_000, 15, "events via the second")
        assert agent.agent.counters.snapshot()["connect_failures"] == 1
    finally:
        agent.stop()


def test_identity_from_before_fail_over_still_loads(
    cluster: tuple[Collector, TcpRelay, TcpRelay, Path],
) -> None:
    _, first, _, sensor_dir = cluster
    meta_path = sensor_dir / IDENTITY_FILE
    meta = json.loads(meta_path.read_text())
    del meta["endpoints"]  # what a sensor enrolled by an older Aurora holds
    meta["endpoint"] = first.endpoint
    meta_path.write_text(json.dumps(meta))
    assert load_identity(sensor_dir).endpoints == (first.endpoint,)
