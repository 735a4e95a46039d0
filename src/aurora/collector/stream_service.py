"""SensorStream.Connect: one bidirectional stream per sensor, authenticated by its certificate.

Per stream, three coroutines cooperate: the reader handles what the sensor sends (batches go to the
ingest writer in arrival order), the acker awaits each batch's durable commit *in order* and queues
its BatchAck, and the handler itself is the only one writing to the stream (gRPC allows one
writer). A sensor may therefore pipeline many batches; acks still come back in sequence. A
sensor whose batches keep being refused has its stream read more slowly (:mod:`.refusals`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from typing import Any

import grpc

from aurora.collector import commands as cmds
from aurora.collector.bus import Bus, CommandUpdated, HostChanged, Message
from aurora.collector.ingest import BatchIntake, Outcome
from aurora.collector.pki import CertificateAuthority, PKIError
from aurora.collector.refusals import RefusalLimiter
from aurora.collector.rollouts import Rollouts
from aurora.collector.store.base import HostStatus, Store
from aurora.collector.tamper import TamperMonitor
from aurora.collector.tlsfront import Peer
from aurora.collector.uploads import UploadReceiver
from aurora.v1 import common_pb2, stream_pb2, stream_pb2_grpc
from aurora.wire.codec import saturate

log = logging.getLogger("aurora.collector.stream")

_HELLO_TIMEOUT_S = 30.0
_MAX_UNACKED = 256


def _now_ms() -> int:
    return int(time.time() * 1000)


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    try:
        return str(enum.Name(value)).removeprefix(prefix).lower()
    except ValueError:
        return "unknown"


def _host_dict(h: common_pb2.HostInfo) -> dict[str, Any]:
    return {
        "hostname": h.hostname,
        "os_name": h.os_name,
        "os_version": h.os_version,
        "kernel_version": h.kernel_version,
        "arch": h.arch,
        "sensor_version": h.sensor_version,
        "machine_id": h.machine_id,
        "ip_addresses": list(h.ip_addresses),
    }


def hook_health_entry(hb: stream_pb2.Heartbeat) -> dict[str, Any] | None:
    """The guard's report as a pseudo-capability ``hook_health`` (kept with the capabilities, so
    the console shows it without a schema change): loaded when every hook and canary is ok."""
    if not hb.HasField("hook_health"):
        return None
    h = hb.hook_health

    def rows(items: Any) -> list[dict[str, Any]]:
        return [
            {"name": i.name, "state": i.state, "detail": i.detail, "since_ms": i.since_unix_ms}
            for i in items
        ]

    hooks, families = rows(h.hooks), rows(h.families)
    bad = [r for r in hooks + families if r["state"] != "ok"]
    return {
        "name": "hook_health",
        "loaded": not bad,
        "reason": "; ".join(f"{r['name']}: {r['state']}" for r in bad),
        "checked_ms": h.checked_at_unix_ms,
        "last_good_ms": h.last_good_unix_ms,
        "hooks": hooks,
        "families": families,
        "previous_run": h.previous_run,
        "canaries_sent": saturate(h.canaries_sent),
        "check_cpu_us": saturate(h.check_cpu_us),
    }


def heartbeat_status(sensor_id: str, hb: stream_pb2.Heartbeat) -> HostStatus:
    """A heartbeat as the store keeps it; its uint64 figures are clamped to 64-bit signed."""
    caps: list[dict[str, Any]] = [
        {"name": c.name, "loaded": c.loaded, "reason": c.reason} for c in hb.capabilities
    ]
    hook_health = hook_health_entry(hb)
    if hook_health is not None:
        caps.append(hook_health)
    return HostStatus(
        sensor_id=sensor_id,
        seen_ms=_now_ms(),
        health=_enum_name(stream_pb2.Health, hb.health, "HEALTH_"),
        capabilities=caps,
        spool_bytes=saturate(hb.spool.bytes_used),
        spool_max_bytes=saturate(hb.spool.bytes_max),
        queue_depth=saturate(hb.spool.events_queued),
        isolation=_enum_name(common_pb2.IsolationState, hb.isolation, "ISOLATION_STATE_"),
        counters={name: saturate(value) for name, value in hb.counters.items()},
        connected=True,
    )


class StreamService(stream_pb2_grpc.SensorStreamServicer):  # type: ignore[misc]
    def __init__(
        self,
        *,
        store: Store,
        bus: Bus,
        ca: CertificateAuthority,
        writer: BatchIntake,
        uploads: UploadReceiver,
        lookup_peer: Callable[[str], Peer | None],
        cert_lifetime: dt.timedelta,
        max_batch_bytes: int,
        rollouts: Rollouts | None = None,
        tamper: TamperMonitor | None = None,
        node: str = "",
    ) -> None:
        #: This node's name on the hosts it holds ("" on a single node, which holds them all).
        self.node = node
        self.store = store
        self.tamper = tamper
        self.bus = bus
        self.ca = ca
        self.writer = writer
        self.uploads = uploads
        self.lookup_peer = lookup_peer
        self.cert_lifetime = cert_lifetime
        self.max_batch_bytes = max_batch_bytes
        self.rollouts = rollouts
        self.sessions: dict[str, Session] = {}
        self.rejected_batches = 0
        self.refusals = RefusalLimiter()

    async def Connect(
        self,
        request_iterator: AsyncIterator[stream_pb2.SensorMessage],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> None:
        peer = self.lookup_peer(context.peer())
        if peer is None or not peer.sensor_id:
            log.warning("refused a stream without a client certificate (%s)", context.peer())
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "a client certificate issued by this collector is required; enrol first",
            )
            return
        sid = peer.sensor_id
        if await asyncio.to_thread(self.store.is_revoked, sid):
            log.warning("refused sensor %s from %s: revoked or unknown", sid, peer.address)
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, f"sensor {sid} is revoked or unknown"
            )
            return
        it = request_iterator.__aiter__()
        try:
            first = await asyncio.wait_for(it.__anext__(), _HELLO_TIMEOUT_S)
        except (StopAsyncIteration, TimeoutError):
            return
        if first.WhichOneof("body") != "hello":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be Hello")
            return
        if first.hello.sensor_id and first.hello.sensor_id != sid:
            log.warning("sensor %s sent Hello for %s; refused", sid, first.hello.sensor_id)
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"Hello names sensor {first.hello.sensor_id} but the certificate is for {sid}",
            )
            return
        session = Session(self, sid, peer, context)
        old = self.sessions.get(sid)
        if old is not None:
            old.close("replaced by a newer connection from the same sensor")
        self.sessions[sid] = session
        hostname = first.hello.host.hostname or "?"
        log.info("sensor %s (%s) connected from %s", sid, hostname, peer.address)
        try:
            await session.run(first.hello, it)
        finally:
            # Logged before the awaited store update: at shutdown the collector cancels this
            # task, and a cancelled await must not swallow the disconnection line.
            log.info("sensor %s (%s) disconnected: %s", sid, hostname, session.end_reason)
            if self.sessions.get(sid) is session:
                del self.sessions[sid]
                if self.tamper is not None:
                    self.tamper.stream_ended(sid, session.said_goodbye)
                await asyncio.to_thread(self.store.release_host, sid, self.node, _now_ms())
                await self.announce(HostChanged(sid))

    async def update_host(self, status: HostStatus) -> None:
        await asyncio.to_thread(self.store.update_host_status, status)
        await self.announce(HostChanged(status.sensor_id))

    async def announce(self, message: Message) -> None:
        """Publish off the stream's loop: a JetStream bus waits for its acknowledgement, and
        while NATS is away that wait must not hold up every other sensor's stream."""
        await asyncio.to_thread(self._announce, message)

    def _announce(self, message: Message) -> None:
        try:
            self.bus.publish(message)
        except Exception as exc:
            # The store holds the change; views pick it up on their next read.
            log.warning("%s for sensor %s not announced: %s", message.topic, message.sensor_id, exc)

    def notify(self, sensor_id: str) -> None:
        """Thread-safe: new commands were queued for ``sensor_id``."""
        session = self.sessions.get(sensor_id)
        if session is not None:
            session.loop.call_soon_threadsafe(session.kick)

    def end(self, sensor_id: str, reason: int, message: str) -> None:
        """Thread-safe: say Goodbye to a connected sensor and close its stream."""
        session = self.sessions.get(sensor_id)
        if session is not None:
            session.loop.call_soon_threadsafe(session.goodbye, reason, message)


class Session:
    """One connected sensor."""

    def __init__(
        self,
        svc: StreamService,
        sensor_id: str,
        peer: Peer,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> None:
        self.svc = svc
        self.sensor_id = sensor_id
        self.peer = peer
        self.context = context
        self.loop = asyncio.get_running_loop()
        self.out: asyncio.Queue[stream_pb2.CollectorMessage | None] = asyncio.Queue()
        self.acks: asyncio.Queue[tuple[int, int, Outcome | Future[Outcome]] | None] = asyncio.Queue(
            maxsize=_MAX_UNACKED
        )
        self.sent_commands: set[str] = set()
        self.end_reason = "stream closed by the sensor"
        self.said_goodbye = False
        self._closed = False

    # --- output ----------------------------------------------------------------------------------

    def send(self, **body: Any) -> None:
        if not self._closed:
            self.out.put_nowait(stream_pb2.CollectorMessage(**body))

    def close(self, reason: str) -> None:
        if not self._closed:
            self.end_reason = reason
            self._closed = True
            self.out.put_nowait(None)

    def goodbye(self, reason: int, message: str) -> None:
        self.send(goodbye=stream_pb2.Goodbye(reason=reason, message=message))  # type: ignore[arg-type]
        self.close(message)

    def kick(self) -> None:
        self.loop.create_task(self._send_commands())

    async def _send_commands(self) -> None:
        pending = await asyncio.to_thread(
            self.svc.store.pending_commands, self.sensor_id, _now_ms()
        )
        for cmd in pending:
            if cmd.command_id in self.sent_commands:
                continue
            try:
                msg = cmds.to_message(cmd)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("command %s cannot be sent: %s", cmd.command_id, exc)
                continue
            self.sent_commands.add(cmd.command_id)
            self.send(command=msg)
            if cmd.state == "queued":
                await asyncio.to_thread(
                    self.svc.store.update_command, cmd.command_id, now_ms=_now_ms(), state="sent"
                )
                await self.svc.announce(CommandUpdated(self.sensor_id, cmd.command_id, "sent"))

    # --- main loop -------------------------------------------------------------------------------

    async def run(
        self, hello: stream_pb2.Hello, it: AsyncIterator[stream_pb2.SensorMessage]
    ) -> None:
        store = self.svc.store
        status = HostStatus(
            self.sensor_id,
            _now_ms(),
            connected=True,
            host=_host_dict(hello.host),
            holder=self.svc.node,
        )
        await self.svc.update_host(status)
        if self.svc.tamper is not None:
            await asyncio.to_thread(self.svc.tamper.heard, self.sensor_id)
        hwm = await asyncio.to_thread(store.high_water, self.sensor_id)
        self.send(welcome=stream_pb2.Welcome(acked_through_seq=hwm, server_time_unix_ms=_now_ms()))
        await self._send_commands()
        reader = asyncio.create_task(self._read(it))
        acker = asyncio.create_task(self._ack())
        try:
            while (msg := await self.out.get()) is not None:
                await self.context.write(msg)
        except (asyncio.CancelledError, grpc.aio.AioRpcError, RuntimeError) as exc:
            # RuntimeError: the RPC already finished when the client went away.
            self.end_reason = f"stream ended ({type(exc).__name__})"
        finally:
            self._closed = True
            reader.cancel()
            acker.cancel()
            await asyncio.gather(reader, acker, return_exceptions=True)

    async def _read(self, it: AsyncIterator[stream_pb2.SensorMessage]) -> None:
        try:
            async for msg in it:
                # A sensor over its budget of refused batches waits here, and only it waits.
                pause = self.svc.refusals.pause_left(self.sensor_id)
                if pause > 0:
                    await asyncio.sleep(pause)
                await self._handle(msg)
        except grpc.aio.AioRpcError:
            self.end_reason = "connection lost"
        # Not reached when cancelled: then the acker is cancelled too.
        await self.acks.put(None)

    async def _handle(self, msg: stream_pb2.SensorMessage) -> None:
        kind = msg.WhichOneof("body")
        store = self.svc.store
        if kind == "batch":
            await self.acks.put(self._submit(msg.batch))
        elif kind == "heartbeat":
            await self.svc.update_host(heartbeat_status(self.sensor_id, msg.heartbeat))
            if self.svc.tamper is not None:
                await asyncio.to_thread(self.svc.tamper.heard, self.sensor_id, msg.heartbeat)
            if await asyncio.to_thread(store.is_revoked, self.sensor_id):
                log.warning("sensor %s is revoked; ending its stream", self.sensor_id)
                self.goodbye(stream_pb2.Goodbye.REASON_REVOKED, "this sensor has been revoked")
                return
            await self._send_commands()
        elif kind == "result":
            state = await asyncio.to_thread(cmds.apply_result, store, self.sensor_id, msg.result)
            if state is None:
                log.warning(
                    "sensor %s: result for unknown command %s",
                    self.sensor_id,
                    msg.result.command_id,
                )
            else:
                await self.svc.announce(
                    CommandUpdated(self.sensor_id, msg.result.command_id, state)
                )
            self.sent_commands.discard(msg.result.command_id)
        elif kind == "progress":
            if await asyncio.to_thread(cmds.apply_progress, store, self.sensor_id, msg.progress):
                await self.svc.announce(
                    CommandUpdated(self.sensor_id, msg.progress.command_id, "running")
                )
        elif kind == "renew":
            await self._renew(msg.renew)
        elif kind == "chunk":
            ack = await asyncio.to_thread(self.svc.uploads.handle, self.sensor_id, msg.chunk)
            self.send(chunk_ack=ack)
        elif kind == "package_request" and self.svc.rollouts is not None:
            chunk = await asyncio.to_thread(
                self.svc.rollouts.serve, self.sensor_id, msg.package_request
            )
            self.send(package_chunk=chunk)
        elif kind == "goodbye":
            self.said_goodbye = True
            self.end_reason = f"the sensor said goodbye ({msg.goodbye.message or 'stopping'})"
        elif kind == "hello":
            log.warning("sensor %s sent a second Hello; ignored", self.sensor_id)

    def _submit(self, b: stream_pb2.EventBatch) -> tuple[int, int, Outcome | Future[Outcome]]:
        if b.sensor_id and b.sensor_id != self.sensor_id:
            reason = f"batch is for sensor {b.sensor_id} but this stream is {self.sensor_id}"
            return b.first_seq, b.count, Outcome(False, reason)
        size = len(b.events)
        if size > self.svc.max_batch_bytes:
            reason = f"batch is {size} bytes, the limit is {self.svc.max_batch_bytes}"
            return b.first_seq, b.count, Outcome(False, reason)
        return b.first_seq, b.count, self.svc.writer.submit(self.sensor_id, b)

    async def _ack(self) -> None:
        try:
            await self._ack_loop()
        finally:
            self.close(self.end_reason)

    async def _ack_loop(self) -> None:
        while (item := await self.acks.get()) is not None:
            first, count, pending = item
            if isinstance(pending, Outcome):
                outcome = pending
            else:
                try:
                    outcome = await asyncio.wrap_future(pending)
                except Exception as exc:
                    # Not stored, so never acked: the sensor keeps it and resends later.
                    log.error(
                        "sensor %s: storing failed (%s); closing the stream", self.sensor_id, exc
                    )
                    self.goodbye(stream_pb2.Goodbye.REASON_SHUTDOWN, "storage failure, retry later")
                    return
            if not outcome.accepted:
                self.svc.rejected_batches += 1
                self.svc.refusals.refused(self.sensor_id)
                log.warning(
                    "rejected batch %d+%d from sensor %s: %s",
                    first,
                    count,
                    self.sensor_id,
                    outcome.reason,
                )
            elif outcome.result is not None and outcome.result.gap is not None:
                lo, hi = outcome.result.gap
                log.warning("sensor %s: sequence gap %d..%d recorded", self.sensor_id, lo, hi)
            self.send(
                ack=stream_pb2.BatchAck(
                    first_seq=first, count=count, accepted=outcome.accepted, reason=outcome.reason
                )
            )

    async def _renew(self, req: stream_pb2.RenewRequest) -> None:
        try:
            issued = await asyncio.to_thread(
                self.svc.ca.issue_sensor_cert, req.csr_pem, self.sensor_id, self.svc.cert_lifetime
            )
        except PKIError as exc:
            log.warning("sensor %s: renewal refused: %s", self.sensor_id, exc.message)
            return
        await asyncio.to_thread(
            self.svc.store.set_cert_not_after, self.sensor_id, issued.not_after_ms
        )
        log.info("sensor %s: certificate renewed until %s", self.sensor_id, issued.not_after)
        self.send(
            renewed=stream_pb2.RenewResponse(
                client_cert_pem=issued.pem, cert_not_after_unix_ms=issued.not_after_ms
            )
        )
