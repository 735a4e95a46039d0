"""Collector assembly: CA, store, bus, ingest writer, detection, the gRPC services and the TLS
front.

``Collector(config).start()`` brings everything up in background threads and returns once the port
is listening (``collector ready`` is logged); ``stop()`` drains and closes. ``aurora collector``,
``aurora run`` and the tests all use this one class. Its ``[collector] role`` says which parts run
(:mod:`.roles`): a front-end has no ingest writer, a worker no sensor port.

Threads: the gRPC server runs on an asyncio loop of its own, the TLS front on another, and the
ingest writer on a third; SQLite commits release the GIL, so they overlap with stream handling.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import grpc

from aurora.collector import roles
from aurora.collector.bus import (
    AlertRaised,
    Bus,
    CommandQueued,
    HostChanged,
    MemoryBus,
    RulesChanged,
    Subscription,
)
from aurora.collector.bus.nats_batches import BatchPublisher
from aurora.collector.bus.nats_bus import JetStreamBus
from aurora.collector.bus.nats_worker import PartitionWorker
from aurora.collector.commands import CommandQueue
from aurora.collector.detect import DetectionStage
from aurora.collector.enrollment_service import EnrollmentService
from aurora.collector.ingest import BatchIntake, IngestWriter
from aurora.collector.pki import CertificateAuthority, ensure_private_dir
from aurora.collector.rollouts import Rollouts, load_release_key
from aurora.collector.rule_actions import RuleResponder
from aurora.collector.store import Store, open_store
from aurora.collector.stream_service import StreamService
from aurora.collector.tamper import TamperMonitor
from aurora.collector.tlsfront import TLSFront, server_ssl_context
from aurora.collector.uploads import UploadReceiver
from aurora.config import AuroraConfig
from aurora.errors import ConfigError
from aurora.statelock import StateDirLock
from aurora.v1 import enrollment_pb2_grpc, stream_pb2, stream_pb2_grpc

log = logging.getLogger("aurora.collector")


def parse_listen(value: str, key: str = "collector.listen") -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(key, f"{value!r} is not HOST:PORT")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


class Collector:
    """One collector process's services. Not restartable: make a new one after ``stop()``."""

    def __init__(self, config: AuroraConfig, *, shared_store_required: bool = True) -> None:
        """``shared_store_required=False``: tests only (see :func:`roles.check_roles`)."""
        roles.check_roles(config.collector, shared_store_required=shared_store_required)
        self.config = config
        self.role = config.collector.role
        self.state_dir: Path = config.collector.state_dir
        self.host, self.port = parse_listen(config.collector.listen)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: grpc.aio.Server | None = None
        self._stopped: asyncio.Event | None = None
        self.front: TLSFront | None = None
        self.store: Store | None = None
        self.writer: IngestWriter | None = None
        self.stream: StreamService | None = None
        self.commands: CommandQueue | None = None
        self.rollouts: Rollouts | None = None
        self.detection: DetectionStage | None = None
        self.responder: RuleResponder | None = None
        #: The collector's event bus (in-process, or JetStream once started with bus = nats://);
        #: the console subscribes to it too.
        self.bus: Bus = MemoryBus()
        self.publisher: BatchPublisher | None = None
        self.partitions: PartitionWorker | None = None
        self.intake: BatchIntake | None = None
        self.ca: CertificateAuthority | None = None
        self._subscriptions: list[Subscription] = []
        self._state_lock: StateDirLock | None = None
        self.node = roles.node_name(config.collector)
        self._beats: roles.NodeBeats | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        ensure_private_dir(self.state_dir)
        # First, before anything in the directory is read or written.
        self._state_lock = StateDirLock.acquire(self.state_dir, "collector")
        try:
            self._start_services()
        except BaseException:
            self.bus.close()
            self._state_lock.release()
            raise

    def _start_services(self) -> None:
        cfg = self.config.collector
        # First the bus: an unreachable NATS refuses the start before anything is opened.
        self.bus = roles.open_bus(cfg, f"{self.role}-{self.state_dir.name}")
        self.ca = CertificateAuthority.load_or_create(self.state_dir / "pki")
        names = [*cfg.server_names]
        for endpoint in cfg.advertised_endpoint:
            names.append(parse_listen(endpoint, "collector.advertised_endpoint")[0])
        if self.host not in ("0.0.0.0", "::"):
            names.append(self.host)
        self.ca.ensure_server_cert(names)
        self.store = open_store(self.state_dir, cfg.store)
        self._beats = roles.hold_hosts(self.store, cfg, self.node)
        if roles.runs_worker(cfg):
            self._start_worker()
        self.commands = CommandQueue(self.store, self.config.response.command_ttl_s, self.bus)
        if roles.runs_frontend(cfg):
            self._start_frontend()
        else:
            log.info("collector worker ready (state %s)", self.state_dir)

    def _start_worker(self) -> None:
        """Ingest writer and detection; on NATS, fed by this worker's share of the partitions."""
        cfg = self.config.collector
        assert self.store is not None
        if self.config.detection.enabled:
            self.detection = DetectionStage.from_config(
                self.config.detection, state_dir=self.state_dir
            )
        self.writer = IngestWriter(
            self.store,
            max_uncompressed=cfg.max_batch_bytes,
            detection=self.detection,
            bus=self.bus,
        )
        self.writer.start()
        self.intake = self.writer
        if isinstance(self.bus, JetStreamBus):
            self.partitions = PartitionWorker(self.bus.link, self.writer)
            self.partitions.start()
        self.commands = CommandQueue(self.store, self.config.response.command_ttl_s, self.bus)
        self.rollouts = Rollouts(self.store, self.commands, self.state_dir / "packages")
        if self.detection is not None:
            self.responder = RuleResponder.open(
                self.state_dir,
                self.store,
                self.bus,
                self.config.response,
                self.config.detection.suppression_window_s,
                known_rules={str(r.id) for r in self.detection.engine.rules},
            )
            if self.responder is not None:
                # Durable: one collector node of several takes each match (scale-out).
                self.bus.subscribe([AlertRaised], self.responder.handle, durable="rule-response")
            # Not durable: every collector node reloads its own rules.
            self._subscriptions.append(self.bus.subscribe([RulesChanged], self._reload_rules))

    def _start_frontend(self) -> None:
        """The sensor port; on NATS its batches go to JetStream, acknowledged once it holds them."""
        cfg = self.config.collector
        assert self.ca is not None
        if isinstance(self.bus, JetStreamBus):
            self.publisher = BatchPublisher.open(self.bus.link)
            self.intake = roles.PublishedIngest(self.publisher)
        ready: Future[int] = Future()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="aurora-grpc", daemon=True
        )
        self._thread.start()
        backend_port = ready.result(timeout=60)
        ctx = server_ssl_context(self.state_dir / "pki", self.ca.cert_pem)
        self.front = TLSFront(
            self.host,
            self.port,
            backend_port,
            ctx,
            handshake_timeout_s=cfg.tls_handshake_timeout_s,
            preface_timeout_s=cfg.http2_preface_timeout_s,
        )
        try:
            self.port = self.front.start()
        except OSError as exc:
            self.stop()
            raise ConfigError("collector.listen", f"cannot listen on {cfg.listen}: {exc}") from None
        log.info(
            "collector ready on %s:%d (role %s, state %s, CA fingerprint %s)",
            self.host,
            self.port,
            self.role,
            self.state_dir,
            self.ca.fingerprint,
        )

    def _serve(self, ready: Future[int]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve_async(ready))
        except BaseException as exc:  # surface start-up failures to start()
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.exception("gRPC server loop failed")
        finally:
            loop.close()

    async def _serve_async(self, ready: Future[int]) -> None:
        cfg = self.config.collector
        assert self.store is not None and self.ca is not None and self.intake is not None
        lifetime = dt.timedelta(hours=cfg.cert_lifetime_hours)
        limit = cfg.max_batch_bytes * 4 + 1024 * 1024
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", 16 * 1024 * 1024),
                ("grpc.keepalive_time_ms", 30_000),
                ("grpc.keepalive_timeout_ms", 10_000),
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
                ("grpc.http2.max_ping_strikes", 0),
                ("grpc.max_concurrent_streams", 16),
            ]
        )
        self._stopped = asyncio.Event()
        uploads = UploadReceiver(self.store, self.state_dir / "uploads", cfg.max_upload_bytes)
        self.stream = StreamService(
            store=self.store,
            bus=self.bus,
            ca=self.ca,
            writer=self.intake,
            uploads=uploads,
            lookup_peer=self._lookup_peer,
            cert_lifetime=lifetime,
            max_batch_bytes=cfg.max_batch_bytes,
            rollouts=self.rollouts,
            node=self.node,
            tamper=TamperMonitor(
                self.store,
                self.bus,
                silence_heartbeats=cfg.sensor_silence_heartbeats,
                drop_alert_per_min=cfg.sensor_drop_alert_per_min,
                silence_min_s=cfg.sensor_silence_min_s,
                suppression_window_s=self.config.detection.suppression_window_s,
            ),
        )
        stream = self.stream
        self._subscriptions.append(
            self.bus.subscribe([CommandQueued], lambda m: stream.notify(m.sensor_id))
        )
        enrollment_pb2_grpc.add_EnrollmentServicer_to_server(
            EnrollmentService(
                self.store,
                self.ca,
                lifetime,
                tuple(cfg.advertised_endpoint),
                load_release_key(cfg.release_public_key),
            ),
            server,
        )
        stream_pb2_grpc.add_SensorStreamServicer_to_server(self.stream, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._server = server
        ready.set_result(port)
        maintenance = asyncio.create_task(self._maintenance())
        tamper_scan = asyncio.create_task(self._tamper_scan())
        await self._stopped.wait()
        maintenance.cancel()
        tamper_scan.cancel()
        for sid in list(self.stream.sessions):
            self.stream.sessions[sid].goodbye(
                stream_pb2.Goodbye.REASON_SHUTDOWN, "collector shutting down"
            )
        await server.stop(grace=2)
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def _lookup_peer(self, grpc_peer: str):  # type: ignore[no-untyped-def]
        return self.front.lookup(grpc_peer) if self.front is not None else None

    async def _maintenance(self) -> None:
        cfg = self.config.collector
        while True:
            await asyncio.sleep(cfg.retention_interval_s)
            older = int(time.time() * 1000) - cfg.retention_days * 86_400_000
            try:
                assert self.store is not None
                n = await asyncio.to_thread(
                    self.store.apply_retention,
                    older_than_ms=older,
                    max_bytes=cfg.retention_max_bytes,
                )
                if n:
                    log.info("retention: deleted %d events", n)
            except Exception:
                log.exception("retention pass failed")

    async def _tamper_scan(self) -> None:
        """Look for silent sensors twice a second (a dict walk; alerts are rare)."""
        while True:
            await asyncio.sleep(0.5)
            tamper = self.stream.tamper if self.stream is not None else None
            if tamper is None:
                continue
            try:
                await asyncio.to_thread(tamper.scan)
            except Exception:
                log.exception("tamper scan failed")

    def stop(self) -> None:
        """Close the port, say goodbye to sensors, finish queued writes, close the store."""
        if self.front is not None:
            self.front.stop()
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and loop.is_running():
            loop.call_soon_threadsafe(stopped.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.partitions is not None:
            # Before the writer: the batches in hand are stored and acknowledged to JetStream.
            self.partitions.stop()
        if self.writer is not None:
            self.writer.stop()
        self.bus.drain(timeout=5.0 if isinstance(self.bus, JetStreamBus) else 10.0)
        self.bus.close()
        if self.responder is not None:
            self.responder.close()
        if self.store is not None:
            roles.release_hosts(self.store, self.config.collector, self.node, self._beats)
            self.store.close()
            self.store = None
        if self._state_lock is not None:
            self._state_lock.release()
        log.info("collector stopped")

    # --- rules -----------------------------------------------------------------------------------

    def reload_rules(self, reason: str = "reload requested") -> None:
        """Have the rules loaded again (SIGHUP, after `aurora rules update`); the reload itself
        runs on the bus, as for a console upload."""
        self.bus.publish(RulesChanged("", reason))

    def _reload_rules(self, message: object) -> None:
        if self.detection is None:
            return
        log.info("reloading the detection rules (%s)", getattr(message, "reason", ""))
        self.detection.reload(self._disabled_rules())

    def _disabled_rules(self) -> set[str]:
        """Rule ids disabled through the console (kept with the accounts, in aurora.db)."""
        from aurora.collector.store import open_accounts

        accounts = open_accounts(self.state_dir, self.config.collector.store)
        try:
            return accounts.disabled_rules()
        finally:
            accounts.close()

    # --- in-process operations -------------------------------------------------------------------

    @property
    def ca_fingerprint(self) -> str:
        assert self.ca is not None
        return self.ca.fingerprint

    def revoke(self, sensor_id: str) -> bool:
        """Revoke and, when connected, end the stream now (other processes: next heartbeat)."""
        assert self.store is not None
        ok = self.store.revoke_host(sensor_id, int(time.time() * 1000))
        if ok:
            self.bus.publish(HostChanged(sensor_id))
            if self.stream is not None:
                self.stream.end(sensor_id, stream_pb2.Goodbye.REASON_REVOKED, "sensor revoked")
        return ok
