"""One SensorStream.Connect call, from Hello to its end.

gRPC's Python API consumes outgoing messages from an iterator on its own thread and hands incoming
ones to ours. The request iterator here is the only sender: it waits on one wake-up event, set by
whoever has something to send (new spooled events, an ack that opens the window, a command result,
a due heartbeat), and sends spooled batches with at most ``max_inflight`` unacknowledged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import grpc

from aurora.sensor.transport.contract import SessionOwner
from aurora.sensor.transport.errors import SensorRevoked
from aurora.v1 import stream_pb2, stream_pb2_grpc
from aurora.wire.codec import encode_batch_raw

log = logging.getLogger(__name__)

_IDLE_WAIT_S = 0.5
_WELCOME_TIMEOUT_S = 30.0


class Session:
    def __init__(self, owner: SessionOwner, channel: grpc.Channel, sensor_id: str) -> None:
        self.owner = owner
        self.channel = channel
        self.sensor_id = sensor_id
        self.welcomed = threading.Event()
        self.closed = threading.Event()
        self.finishing = threading.Event()  # a clean stop: say Goodbye, then end the stream
        self.end_reason = ""
        self._lock = threading.Lock()
        self._inflight: deque[tuple[int, int]] = deque()
        self._next_send = 0
        self._next_heartbeat = 0.0
        self._call: Any = None  # the streaming call, cancellable

    # ------------------------------------------------------------------ lifecycle
    def run(self) -> None:
        """Run until the stream ends; gRPC failures propagate as grpc.RpcError."""
        stub = stream_pb2_grpc.SensorStreamStub(self.channel)
        call = stub.Connect(self._requests())
        self._call = call
        try:
            for msg in call:
                self._on_message(msg)
                if self.closed.is_set():
                    break
        finally:
            self.close()

    def finish(self, grace_s: float = 2.0) -> None:
        """End the stream cleanly: Goodbye is the last message (the collector tells a clean stop
        from a killed sensor by it); after ``grace_s`` the stream is cancelled regardless."""
        self.finishing.set()
        self.owner.wake.set()
        timer = threading.Timer(grace_s, self.close)
        timer.daemon = True
        timer.start()

    def close(self) -> None:
        self.closed.set()
        self.owner.wake.set()
        if self._call is not None:
            self._call.cancel()

    # ------------------------------------------------------------------ sending
    def _requests(self) -> Iterator[stream_pb2.SensorMessage]:
        owner = self.owner
        status = owner.spool.status()
        yield stream_pb2.SensorMessage(
            hello=stream_pb2.Hello(
                sensor_id=self.sensor_id, host=owner.host, next_seq=status.next_seq
            )
        )
        # Nothing else until Welcome says what the collector already holds.
        give_up = time.monotonic() + _WELCOME_TIMEOUT_S
        while not self.welcomed.wait(0.1):
            if self.closed.is_set():
                return
            if time.monotonic() > give_up:
                # A collector that accepts the stream but never answers is as good as down.
                self.end_reason = f"no Welcome within {_WELCOME_TIMEOUT_S:.0f}s"
                self.close()
                return
        while not self.closed.is_set():
            if self.finishing.is_set():
                yield stream_pb2.SensorMessage(
                    goodbye=stream_pb2.Goodbye(
                        reason=stream_pb2.Goodbye.REASON_SHUTDOWN, message="sensor stopping"
                    )
                )
                return
            owner.wake.clear()
            sent = False
            while (msg := owner.next_outgoing()) is not None:
                yield msg
                sent = True
            if time.monotonic() >= self._next_heartbeat:
                self._next_heartbeat = time.monotonic() + owner.settings.heartbeat_interval_s
                owner.check_renewal()
                yield stream_pb2.SensorMessage(heartbeat=owner.heartbeat())
                sent = True
            batch = self._next_batch()
            if batch is not None:
                yield stream_pb2.SensorMessage(batch=batch)
                sent = True
            if not sent:
                wait = min(_IDLE_WAIT_S, max(0.0, self._next_heartbeat - time.monotonic()))
                owner.wake.wait(wait)

    def _next_batch(self) -> stream_pb2.EventBatch | None:
        owner = self.owner
        with self._lock:
            if len(self._inflight) >= owner.settings.max_inflight:
                return None
            start = self._next_send
        got = owner.spool.read(start, owner.settings.batch_max_events)
        if got is None:
            return None
        drops = owner.spool.take_drops(got.last_seq)
        batch = encode_batch_raw(
            self.sensor_id,
            got.first_seq,
            got.events,
            kernel_drops=drops["kernel"],
            spool_evicted=drops["spool_evicted"],
            spool_corrupt=drops["spool_corrupt"],
            plugin_drops=drops["plugin"],
            compress=owner.settings.compression == "zstd",
        )
        with self._lock:
            self._inflight.append((got.first_seq, len(got.events)))
            self._next_send = got.last_seq + 1
        owner.counters.add("batches_sent", 1)
        owner.counters.add("events_sent", len(got.events))
        return batch

    # ---------------------------------------------------------------- receiving
    def _on_message(self, msg: stream_pb2.CollectorMessage) -> None:
        kind = msg.WhichOneof("body")
        owner = self.owner
        if kind == "welcome":
            acked = owner.on_welcome(msg.welcome)
            with self._lock:
                self._next_send = acked + 1
            self.welcomed.set()
        elif kind == "ack":
            self._on_ack(msg.ack)
        elif kind == "command":
            owner.runner.handle(msg.command)
        elif kind == "chunk_ack":
            owner.runner.on_chunk_ack(msg.chunk_ack)
        elif kind == "package_chunk":
            owner.runner.on_package_chunk(msg.package_chunk)
        elif kind == "renewed":
            owner.on_renewed(msg.renewed)
        elif kind == "goodbye":
            self._on_goodbye(msg.goodbye)
        owner.wake.set()

    def _on_ack(self, ack: stream_pb2.BatchAck) -> None:
        last = ack.first_seq + ack.count - 1
        with self._lock:
            # Acks come in order; anything older than this one was settled with it.
            while self._inflight and self._inflight[0][0] <= ack.first_seq:
                self._inflight.popleft()
        if not ack.accepted:
            # A rejected batch is not retried (the collector will never take it); dropping it
            # from the spool is the only way forward, and it is loud.
            log.error(
                "collector rejected batch %d-%d: %s", ack.first_seq, last, ack.reason or "no reason"
            )
            self.owner.counters.add("batches_rejected", 1)
            self.owner.counters.add("events_rejected", ack.count)
        else:
            self.owner.counters.add("events_acked", ack.count)
        self.owner.spool.ack(last)

    def _on_goodbye(self, bye: stream_pb2.Goodbye) -> None:
        reason = stream_pb2.Goodbye.Reason.Name(bye.reason)
        self.end_reason = f"collector said goodbye ({reason}): {bye.message}".rstrip(": ")
        if bye.reason == stream_pb2.Goodbye.REASON_REVOKED:
            self.close()
            raise SensorRevoked(
                f"the collector revoked sensor {self.sensor_id}"
                + (f" ({bye.message})" if bye.message else "")
                + "; stopping. Re-enrol with `aurora enroll` to bring this host back"
            )
        log.info("%s", self.end_reason)
        self.close()
