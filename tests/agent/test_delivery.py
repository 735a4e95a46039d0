"""End to end: a real collector process, real mTLS on loopback, the agent with a counting source.

Each test checks what the collector *stored* (its SQLite database, read through the store API), so
"nothing lost, nothing doubled" is judged where it matters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora.collector.store import Store, open_store
from aurora.collector.store.base import EventQuery
from aurora.sensor.agent import Agent
from aurora.sensor.enrollment import enroll

from .helpers import (
    AgentThread,
    CollectorProcess,
    CountingSource,
    free_port,
    sensor_config,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorProcess]:
    proc = CollectorProcess(tmp_path / "collector", free_port(), tmp_path / "collector.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def sensor_dir(tmp_path: Path, collector: CollectorProcess) -> Path:
    d = tmp_path / "sensor"
    enroll(collector.endpoint, collector.token, collector.fingerprint, d)
    return d


def stored_numbers(store: Store, sensor_id: str) -> list[int]:
    events = store.search_events(EventQuery(sensor_ids=[sensor_id], limit=1_000_000))
    return sorted(e.event["unmapped"]["n"] for e in events)


def sensor_id_of(sensor_dir: Path) -> str:
    from aurora.sensor.identity import load_identity

    return load_identity(sensor_dir).sensor_id


def start_agent(sensor_dir: Path, source: CountingSource, **cfg: object) -> AgentThread:
    agent = Agent(sensor_config(sensor_dir, **cfg), source, executor_factory=lambda: None)
    return AgentThread(agent).start()


def test_collector_sigkill_mid_stream_loses_and_doubles_nothing(
    tmp_path: Path, collector: CollectorProcess, sensor_dir: Path
) -> None:
    total = 100_000
    sid = sensor_id_of(sensor_dir)
    source = CountingSource(total, per_poll=250)
    agent = start_agent(sensor_dir, source)
    store = open_store(collector.state_dir)
    try:
        wait_until(lambda: store.count_events(sid) >= 20_000, 60, "the first 20,000 events")
        collector.kill()
        killed_at = store.count_events(sid)
        assert killed_at < total, "the stream had already finished: the kill proved nothing"
        time.sleep(1.0)  # the sensor keeps producing into its spool meanwhile
        collector.start()
        wait_until(lambda: store.count_events(sid) >= total, 120, "all 100,000 events")
        time.sleep(1.0)  # any duplicate resend would land now
        assert store.count_events(sid) == total
        assert stored_numbers(store, sid) == list(range(1, total + 1))
        assert store.gaps(sid) == []
        assert agent.agent.counters.snapshot()["connects"] >= 2
    finally:
        agent.stop()
        store.close()
    assert agent.error is None and agent.result == 0


def test_outage_loses_nothing_and_logs_connect_error_once(
    tmp_path: Path,
    collector: CollectorProcess,
    sensor_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sid = sensor_id_of(sensor_dir)
    collector.stop()
    caplog.set_level(logging.INFO, logger="aurora.sensor")
    source = CountingSource(30_000, per_poll=100)
    agent = start_agent(sensor_dir, source)
    try:
        # Several reconnection attempts fail while all events are produced and spooled.
        wait_until(lambda: source.produced >= 30_000, 60, "the source to finish")
        wait_until(
            lambda: agent.agent.counters.snapshot().get("connect_failures", 0) >= 4,
            30,
            "several failed reconnects",
        )
        assert agent.agent.spool.status().events_queued == 30_000
        collector.start()
        store = open_store(collector.state_dir)
        try:
            wait_until(lambda: store.count_events(sid) >= 30_000, 60, "the spooled events")
            assert stored_numbers(store, sid) == list(range(1, 30_001))
        finally:
            store.close()
        wait_until(lambda: agent.agent.spool.status().events_queued == 0, 10, "acks")
    finally:
        agent.stop()
    messages = [r.getMessage() for r in caplog.records]
    connect_errors = [m for m in messages if m.startswith("TransportConnectError")]
    assert len(connect_errors) == 1, connect_errors
    assert any("again after" in m for m in messages), "recovery was not logged"


def test_full_spool_evicts_oldest_counts_them_keeps_newest(
    tmp_path: Path, collector: CollectorProcess, sensor_dir: Path
) -> None:
    sid = sensor_id_of(sensor_dir)
    collector.stop()
    total = 20_000
    source = CountingSource(total, per_poll=500)
    agent = start_agent(sensor_dir, source, spool_max_bytes=1024 * 1024)
    try:
        wait_until(lambda: source.produced >= total, 60, "the source to finish")
        wait_until(
            lambda: agent.agent.counters.snapshot().get("events_spooled", 0) >= total,
            30,
            "everything spooled",
        )
        status = agent.agent.spool.status()
        assert status.bytes_used <= 1024 * 1024
        collector.start()
        store = open_store(collector.state_dir)
        try:
            wait_until(
                lambda: (h := store.get_host(sid)) is not None and h.high_water >= total,
                60,
                "the newest events",
            )
            got = stored_numbers(store, sid)
            assert got[-1] == total
            assert got == list(range(got[0], total + 1)), "the kept events must be the newest"
            evicted = got[0] - 1
            assert evicted > total // 2
            host = store.get_host(sid)
            assert host is not None
            assert host.drops_spool_evicted == evicted
            assert host.drops_spool_corrupt == 0
        finally:
            store.close()
    finally:
        agent.stop()


def test_corrupt_segment_skipped_counted_rest_delivered(
    tmp_path: Path, collector: CollectorProcess, sensor_dir: Path
) -> None:
    sid = sensor_id_of(sensor_dir)
    collector.stop()
    total = 12_000
    source = CountingSource(total, per_poll=500)
    agent = start_agent(sensor_dir, source, spool_max_bytes=8 * 1024 * 1024)
    wait_until(
        lambda: agent.agent.counters.snapshot().get("events_spooled", 0) >= total,
        60,
        "everything spooled",
    )
    agent.stop()
    # Power loss on a closed segment: cut it short, and flip bytes in another one.
    segs = sorted((sensor_dir / "spool").glob("*.seg"))
    assert len(segs) >= 4
    cut = segs[1]
    with cut.open("r+b") as fh:
        fh.truncate(cut.stat().st_size // 2)
    flipped = segs[2]
    data = bytearray(flipped.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 64):
        data[i] ^= 0x5A
    flipped.write_bytes(bytes(data))

    collector.start()
    agent = start_agent(sensor_dir, CountingSource(0), spool_max_bytes=8 * 1024 * 1024)
    store = open_store(collector.state_dir)
    try:
        wait_until(
            lambda: (h := store.get_host(sid)) is not None and h.high_water >= total,
            60,
            "the events after the damage",
        )
        wait_until(lambda: agent.agent.spool.status().events_queued == 0, 10, "acks")
        got = stored_numbers(store, sid)
        lost = total - len(got)
        assert got[0] == 1 and got[-1] == total
        assert 0 < lost < total // 2
        assert len(set(got)) == len(got)
        host = store.get_host(sid)
        assert host is not None
        assert host.drops_spool_corrupt == lost
        assert host.drops_spool_evicted == 0
    finally:
        store.close()
        agent.stop()
