"""The collector's tamper monitor on a real SQLite store and the in-process bus: loss counters
rising past the configured rate alert (a slow trickle does not), silence is raised once and its
end recorded, a clean Goodbye is never silence, and every finding is a critical OCSF Detection
Finding tagged T1562.001 announced on the bus like any alert."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aurora.collector.bus import AlertRaised, MemoryBus
from aurora.collector.store import open_store
from aurora.collector.store.base import HostRecord, Store
from aurora.collector.tamper import DROPS, SILENT, TamperMonitor
from aurora.ocsf.schema import OcsfSchema
from aurora.v1 import stream_pb2

SENSOR = "s-watched"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Store, MemoryBus, list[AlertRaised]]]:
    store = open_store(tmp_path)
    store.register_host(HostRecord(sensor_id=SENSOR, hostname="watched-1"))
    bus = MemoryBus()
    seen: list[AlertRaised] = []
    bus.subscribe([AlertRaised], lambda m: seen.append(m))  # type: ignore[arg-type, return-value]
    yield store, bus, seen
    bus.close()
    store.close()


def monitor(store: Store, bus: MemoryBus, **kw: Any) -> TamperMonitor:
    args: dict[str, Any] = {
        "silence_heartbeats": 3,
        "drop_alert_per_min": 600,
        "suppression_window_s": 300,
        "silence_min_s": 0.2,
    }
    args.update(kw)
    return TamperMonitor(store, bus, **args)


def heartbeat(lost: int, interval_ms: int = 100) -> stream_pb2.Heartbeat:
    hb = stream_pb2.Heartbeat(sensor_id=SENSOR, counters={"lost_kernel": lost, "events_sent": 9})
    hb.hook_health.heartbeat_interval_ms = interval_ms
    return hb


def _age_drop_window(m: TamperMonitor, seconds: float) -> None:
    """Move the monitor's last loss reading into the past, as if ``seconds`` had gone by."""
    m._sensors[SENSOR].lost_checked -= seconds


def test_losses_past_the_rate_alert_and_a_trickle_does_not(
    world: tuple[Store, MemoryBus, list[AlertRaised]],
) -> None:
    store, bus, seen = world
    m = monitor(store, bus)
    m.heard(SENSOR, heartbeat(0))
    _age_drop_window(m, 10)
    m.heard(SENSOR, heartbeat(50))  # 300 a minute: under 600
    assert store.list_alerts(sensor_id=SENSOR) == []
    _age_drop_window(m, 10)
    m.heard(SENSOR, heartbeat(50 + 500))  # 3000 a minute
    alerts = store.list_alerts(sensor_id=SENSOR)
    assert [a.rule_uid for a in alerts] == [DROPS.id]
    assert alerts[0].severity_id == 5
    assert "500 events lost" in alerts[0].finding["message"] or "500 events lost" in str(
        alerts[0].finding["evidences"]
    )
    bus.drain()
    assert [a.rule_uid for a in seen] == [DROPS.id]


def test_silence_is_raised_once_and_the_return_recorded(
    world: tuple[Store, MemoryBus, list[AlertRaised]], shared_data: Path
) -> None:
    store, bus, _ = world
    m = monitor(store, bus)
    m.heard(SENSOR, heartbeat(0, interval_ms=100))
    m.scan()
    assert store.list_alerts(sensor_id=SENSOR) == []
    time.sleep(0.35)  # past 3 heartbeat intervals of 100 ms
    m.scan()
    m.scan()
    silent = store.list_alerts(sensor_id=SENSOR)
    assert [a.rule_uid for a in silent] == [SILENT.id]
    finding = silent[0].finding
    assert finding["severity_id"] == 5 and finding["device"]["hostname"] == "watched-1"
    assert any(a["technique"]["uid"] == "T1562" for a in finding["attacks"])
    schema = OcsfSchema.load(shared_data / "ocsf-schema-1.8.0")
    assert schema.validate(finding) == []
    m.heard(SENSOR, heartbeat(0, interval_ms=100))
    titles = [a.title for a in store.list_alerts(sensor_id=SENSOR)]
    assert "Aurora Sensor Back After Silence" in titles


def test_a_goodbye_is_never_silence(world: tuple[Store, MemoryBus, list[AlertRaised]]) -> None:
    store, bus, _ = world
    m = monitor(store, bus)
    m.heard(SENSOR, heartbeat(0, interval_ms=100))
    m.stream_ended(SENSOR, said_goodbye=True)
    time.sleep(0.35)
    m.scan()
    assert store.list_alerts(sensor_id=SENSOR) == []
    m.heard(SENSOR, heartbeat(0, interval_ms=100))
    m.stream_ended(SENSOR, said_goodbye=False)
    time.sleep(0.35)
    m.scan()
    alerts = store.list_alerts(sensor_id=SENSOR)
    assert [a.rule_uid for a in alerts] == [SILENT.id]
    assert "without Goodbye" in str(alerts[0].finding["evidences"])
