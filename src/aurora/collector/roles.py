"""What a collector node does (``[collector] role``), what each role needs to be configured with,
and the front-end's way into ingest: publishing a sensor's batch to JetStream.

``all`` on the in-process bus is the single node of ``make run``. In a cluster a front-end holds
the sensors' streams and publishes their batches; a worker consumes them, detects and stores;
``all`` on NATS does both in one process, through JetStream. Every node of a cluster must share
the store and the bus, so a configuration that would leave a node alone with its own is refused
before anything starts.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import Future

from aurora.collector.bus import Bus, MemoryBus
from aurora.collector.bus.nats_batches import BatchPublisher
from aurora.collector.bus.nats_bus import JetStreamBus
from aurora.collector.ingest import Outcome
from aurora.collector.store.base import HostStore
from aurora.config.collector import CollectorConfig
from aurora.errors import ConfigError
from aurora.v1 import stream_pb2

log = logging.getLogger("aurora.collector")


def uses_nats(cfg: CollectorConfig) -> bool:
    return cfg.bus.startswith("nats://")


def runs_frontend(cfg: CollectorConfig) -> bool:
    return cfg.role in ("all", "frontend")


def runs_worker(cfg: CollectorConfig) -> bool:
    return cfg.role in ("all", "worker")


def check_roles(cfg: CollectorConfig, *, shared_store_required: bool = True) -> None:
    """Refuse a half-configured cluster node with a one-line :class:`ConfigError`.

    ``shared_store_required=False`` lets tests run a front-end or a worker on a SQLite file of
    its own (no other node reads it), which a deployment must never do.
    """
    if cfg.role != "all" and not uses_nats(cfg):
        raise ConfigError(
            "collector.bus",
            f'role "{cfg.role}" needs the bus the other nodes use: set bus = "nats://HOST:PORT" '
            '(bus = "memory" serves only role = "all")',
        )
    if cfg.role != "all" and shared_store_required and cfg.store == "sqlite":
        raise ConfigError(
            "collector.store",
            f'role "{cfg.role}" needs the store the other nodes use: set store = '
            '"postgresql://..." (a SQLite file belongs to one node)',
        )


def open_bus(cfg: CollectorConfig, node: str) -> Bus:
    """The in-process bus, or the JetStream one (raises BusUnavailable when unreachable)."""
    if not uses_nats(cfg):
        return MemoryBus()
    return JetStreamBus.connect(cfg.bus, name=node)


class PublishedIngest:
    """A front-end's ingest: a batch counts as taken once JetStream acknowledged it, and that is
    when the sensor is acknowledged; a worker stores it. What the worker refuses is logged
    there (the sensor has already moved on), so the front-end checks what it can first."""

    def __init__(self, publisher: BatchPublisher) -> None:
        self.publisher = publisher

    def submit(self, sensor_id: str, batch: stream_pb2.EventBatch) -> Future[Outcome]:
        outcome: Future[Outcome] = Future()
        published = self.publisher.submit(sensor_id, batch)

        def settle(done: Future[None]) -> None:
            if not outcome.set_running_or_notify_cancel():
                return  # the stream ended meanwhile; the sensor resends what it was not acked
            exc = done.exception()
            if exc is not None:
                outcome.set_exception(exc)
            else:
                outcome.set_result(Outcome(True))

        published.add_done_callback(settle)
        return outcome


class NodeBeats:
    """A front-end's heartbeat in the shared store: it is alive for three of its intervals after
    each beat, so the hosts of a front-end that died show as disconnected on every console within
    that bound, while a missed beat or two (a slow commit, a store restart) changes nothing."""

    def __init__(self, store: HostStore, node: str, interval_s: float) -> None:
        self.store = store
        self.node = node
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aurora-node-beat", daemon=True)

    def start(self) -> None:
        self.beat()  # before the first sensor connects: its host never shows held by a dead node
        self._thread.start()

    def beat(self) -> None:
        until = int((time.time() + 3 * self.interval_s) * 1000)
        self.store.beat_node(self.node, until)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.beat()
            except Exception as exc:  # the store is away: the sensors' state waits with it
                log.warning("node heartbeat not recorded: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


def node_name(cfg: CollectorConfig) -> str:
    """This node's name on the hosts whose streams it holds: "" alone (it holds them all); in a
    cluster its host and state directory (unique per node, the same after a restart)."""
    return f"{socket.gethostname()}:{cfg.state_dir.resolve()}" if uses_nats(cfg) else ""


def hold_hosts(store: HostStore, cfg: CollectorConfig, node: str) -> NodeBeats | None:
    """At start: mark disconnected the hosts whose streams this node held before (all of them
    alone; on a shared store only its own, the other front-ends still hold theirs), and, for a
    front-end in a cluster, start beating."""
    if not uses_nats(cfg):
        store.mark_all_disconnected()
        return None
    if not runs_frontend(cfg):
        return None
    store.mark_all_disconnected(node)  # what it held before a crash
    beats = NodeBeats(store, node, cfg.node_heartbeat_s)
    beats.start()
    return beats


def release_hosts(
    store: HostStore, cfg: CollectorConfig, node: str, beats: NodeBeats | None
) -> None:
    """At stop: the hosts this node held are disconnected (their sensors move on)."""
    if beats is not None:
        beats.stop()
    if not uses_nats(cfg):
        store.mark_all_disconnected()
    elif beats is not None:
        store.mark_all_disconnected(node)
