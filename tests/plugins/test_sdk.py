"""The SDK's Runner: buffering while the sensor is away, losses reported, reconnection."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any, ClassVar

from tests.agent.helpers import wait_until

from aurora.plugins.host import PluginHost
from aurora.plugins.manifest import ManifestDir
from aurora.plugins.sdk import EventSink, Plugin, Runner
from aurora.plugins.session import Limits

from .helpers import auth_event, drain, list_plugin, manifest_for, running_plugin, short_dir

FAST = Limits(heartbeat_s=0.2, silence_s=2.0)


class OnDemand(Plugin):
    """Emits whatever the test puts in ``inbox``."""

    name: ClassVar[str] = "ondemand"
    version: ClassVar[str] = "1.0"
    classes: ClassVar[tuple[int, ...]] = (3002,)

    def __init__(self) -> None:
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()

    def run(self, sink: EventSink, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                sink.emit(self.inbox.get(timeout=0.05))
            except queue.Empty:
                continue


def _host(root: Path) -> PluginHost:
    manifests = ManifestDir(root / "m")
    host = PluginHost(root / "p.sock", manifests, limits=FAST)
    host.start()
    return host


def test_events_wait_for_the_sensor_and_overflow_is_reported_as_lost() -> None:
    with short_dir() as root:
        events = [auth_event(i) for i in range(20)]
        # No sensor yet: the plugin's five-event sink keeps the first five, counts the rest.
        sink = EventSink(capacity=5)
        runner = Runner(list_plugin("early", events), root / "p.sock", sink=sink, backoff_s=0.05)
        with running_plugin(runner):
            wait_until(lambda: sink.lost == 15, 5, "the sink to overflow")
            host = _host(root)
            try:
                host.manifests.enable(manifest_for("early"))
                got = drain(host, 5)
                assert [e["user"]["name"] for e in got] == [f"user{i}" for i in range(5)]
                wait_until(lambda: host.stats.lost["early"] == 15, 5, "the plugin's heartbeat")
            finally:
                host.stop()


def test_the_runner_reconnects_when_the_sensor_comes_back() -> None:
    with short_dir() as root:
        plugin = OnDemand()
        runner = Runner(plugin, root / "p.sock", backoff_s=0.05, backoff_max_s=0.2)
        first = _host(root)
        first.manifests.enable(manifest_for("ondemand"))
        with running_plugin(runner):
            plugin.inbox.put(auth_event(1))
            assert [e["user"]["name"] for e in drain(first, 1)] == ["user1"]
            first.stop()  # the sensor restarts
            wait_until(lambda: not runner.connected.is_set(), 5, "the runner to notice")
            plugin.inbox.put(auth_event(2))  # emitted while the sensor is away
            second = _host(root)
            try:
                assert [e["user"]["name"] for e in drain(second, 1)] == ["user2"]
                assert second.connected() == ["ondemand"]
            finally:
                second.stop()


def test_a_socket_path_longer_than_sun_path_still_works(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    host = PluginHost(deep / "plugins.sock", ManifestDir(deep / "m"), limits=FAST)
    assert len(str(host.socket_path)) > 108
    host.start()
    try:
        host.manifests.enable(manifest_for("deep"))
        with running_plugin(Runner(list_plugin("deep", [auth_event(3)]), host.socket_path)):
            assert [e["user"]["name"] for e in drain(host, 1)] == ["user3"]
    finally:
        host.stop()
    assert not host.socket_path.exists()
