"""Plugin events and plugin losses through the real agent, gRPC/mTLS stream and collector store:
events land with their provenance, losses arrive in DropCounters and heartbeats and show as a
health reason in the console."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tests.agent.helpers import AgentThread, CountingSource, sensor_config, wait_until

from aurora.api.host_state import health_reasons
from aurora.collector.server import Collector
from aurora.collector.store.base import EventQuery, HostRecord
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.plugins.attach import WithPlugins, manifest_dir, plugin_socket
from aurora.plugins.host import PluginHost
from aurora.plugins.sdk import Runner
from aurora.sensor.agent import Agent
from aurora.sensor.enrollment import enroll

from .helpers import auth_event, list_plugin, manifest_for, running_plugin, short_dir


@dataclass
class Rig:
    collector: Collector
    host: PluginHost
    sensor_id: str
    agent: Agent
    own_events: CountingSource  # the sensor's own source, held until the test opens its gate

    def record(self) -> HostRecord:
        assert self.collector.store is not None
        got = self.collector.store.get_host(self.sensor_id)
        assert got is not None
        return got

    def events(self) -> list[dict[str, Any]]:
        assert self.collector.store is not None
        query = EventQuery(sensor_ids=[self.sensor_id], class_uid=3002, limit=100)
        return [e.event for e in self.collector.store.search_events(query)]


@pytest.fixture
def rig() -> Iterator[Rig]:
    with short_dir() as root:
        collector = Collector(
            AuroraConfig.model_validate(
                {
                    "collector": {"state_dir": str(root / "c"), "listen": "127.0.0.1:0"},
                    "detection": {"enabled": False},
                }
            )
        )
        collector.start()
        assert collector.store is not None
        token = create_token(collector.store, 3600, 1)
        sdir = root / "s"
        ident = enroll(f"127.0.0.1:{collector.port}", token.token, collector.ca_fingerprint, sdir)
        host = PluginHost(plugin_socket(sdir), manifest_dir(sdir))
        own = CountingSource(1)
        own.gate.clear()
        agent = AgentThread(Agent(sensor_config(sdir), WithPlugins(own, host)))
        agent.start()
        try:
            yield Rig(collector, host, ident.sensor_id, agent.agent, own)
        finally:
            agent.stop()
            collector.stop()
        assert agent.error is None, agent.error


def test_plugin_events_and_losses_reach_the_collector(rig: Rig) -> None:
    rig.host.manifests.enable(manifest_for("mixed"))
    good = [auth_event(i) for i in range(5)]
    bad = [{**auth_event(9), "class_uid": 1007}, {**auth_event(9), "time": -1}, ["x"]]
    with running_plugin(Runner(list_plugin("mixed", [*good, *bad]), rig.host.socket_path)):
        wait_until(lambda: len(rig.events()) == 5, 30, "the five good events in the store")
        # Losses ride on the next batch, like the kernel's: let the sensor's own event carry them.
        wait_until(
            lambda: rig.agent.spool.drop_totals()["plugin"] == 3, 30, "the losses in the ledger"
        )
        rig.own_events.gate.set()
        wait_until(lambda: rig.record().drops_plugin == 3, 30, "DropCounters.plugin")
        wait_until(
            lambda: rig.record().counters.get("plugin_lost.mixed") == 3, 30, "heartbeat counters"
        )
    events = rig.events()
    assert sorted(e["user"]["name"] for e in events) == [f"user{i}" for i in range(5)]
    assert {e["metadata"]["product"]["name"] for e in events} == {"mixed"}
    record = rig.record()
    assert record.counters["plugin_events.mixed"] == 5
    assert "3 events lost by plugin mixed" in health_reasons(record)
    assert (record.drops_kernel, record.drops_spool_evicted, record.drops_spool_corrupt) == (0,) * 3
