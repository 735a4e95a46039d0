"""``Transport``, the sensor's client of its collector: connect, stream, reconnect, renew the
certificate.

One stream at a time. When it cannot be opened or breaks, events keep going to the spool and the
transport moves on to the next collector endpoint it was given at enrolment (a cluster's other
front-ends); once every endpoint has failed in a row it retries with jittered exponential backoff.
The outage is logged once as a TransportConnectError when it starts and once more when it ends,
however many retries lie between.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc

from aurora.sensor.enrollment import EnrollmentError, check_issued, new_key_and_csr
from aurora.sensor.identity import Identity, load_identity, save_renewed
from aurora.sensor.spool import Spool
from aurora.sensor.transport.channel import Backoff, open_channel
from aurora.sensor.transport.commands import CommandRunner
from aurora.sensor.transport.contract import Counters, TransportSettings
from aurora.sensor.transport.errors import CertificateExpired, SensorRevoked, TransportConnectError
from aurora.sensor.transport.session import Session
from aurora.v1 import common_pb2, stream_pb2

log = logging.getLogger(__name__)


def _describe(exc: grpc.RpcError) -> str:
    if isinstance(exc, grpc.Call):
        details = " ".join((exc.details() or "").split())
        return f"{exc.code().name}: {details}" if details else exc.code().name
    return str(exc)


class Transport:
    def __init__(
        self,
        state_dir: Path,
        settings: TransportSettings,
        spool: Spool,
        host: common_pb2.HostInfo,
        heartbeat: Callable[[], stream_pb2.Heartbeat],
        runner: CommandRunner | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.settings = settings
        self.spool = spool
        self.host = host
        self.heartbeat = heartbeat
        self.counters = counters or Counters()
        self.wake = threading.Event()
        self.runner = runner or CommandRunner(self.send, lambda: None)
        self._outbox: queue.SimpleQueue[stream_pb2.SensorMessage] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._session: Session | None = None
        self._identity: Identity | None = None
        self._renew_key: bytes | None = None
        # A renewed pair is only used from the next connection, so once per stream is enough.
        self._renewed_this_stream = False
        self._down_since: float | None = None
        self._endpoint = ""
        self._endpoint_index = 0
        self._ever_connected = False
        self.connected = threading.Event()

    # -------------------------------------------------------------- public API
    def send(self, msg: stream_pb2.SensorMessage) -> None:
        """Queue a message for the collector (sent on this stream or the next one)."""
        self._outbox.put(msg)
        self.wake.set()

    def drain(self, timeout_s: float) -> bool:
        """Wait (bounded) until queued messages have been handed to the stream; True if so."""
        deadline = time.monotonic() + timeout_s
        while not self._outbox.empty():
            if time.monotonic() > deadline or self._session is None:
                return False
            time.sleep(0.02)
        return True

    def next_outgoing(self) -> stream_pb2.SensorMessage | None:
        try:
            return self._outbox.get_nowait()
        except queue.Empty:
            return None

    def stop(self) -> None:
        self._stop.set()
        session = self._session
        if session is not None:
            if session.welcomed.is_set() and not session.closed.is_set():
                session.finish()
            else:
                session.close()
        self.wake.set()

    def run(self) -> None:
        """Stream until stop(); raises SensorRevoked or CertificateExpired, which end the sensor."""
        backoff = Backoff(self.settings.reconnect_min_s, self.settings.reconnect_max_s)
        failed_in_a_row = 0
        while not self._stop.is_set():
            identity = load_identity(self.state_dir)
            self._identity = identity
            if identity.cert_not_after <= dt.datetime.now(dt.UTC):
                raise CertificateExpired(
                    f"the sensor certificate expired at {identity.cert_not_after:%Y-%m-%d %H:%M} "
                    "UTC before it could be renewed; re-enrol with `aurora enroll`"
                )
            endpoints = self.settings.endpoints(identity.endpoints)
            endpoint = endpoints[self._endpoint_index % len(endpoints)]
            self._endpoint = endpoint
            channel = open_channel(
                identity, endpoint, self.settings.keepalive_s, self.settings.compression
            )
            session = Session(self, channel, identity.sensor_id)
            self._session = session
            reason = ""
            try:
                if self._stop.is_set():
                    break
                session.run()
                reason = session.end_reason or "the collector closed the stream"
            except grpc.RpcError as exc:
                code = exc.code() if isinstance(exc, grpc.Call) else None
                if code == grpc.StatusCode.PERMISSION_DENIED and not self._stop.is_set():
                    raise SensorRevoked(
                        f"the collector refuses sensor {identity.sensor_id} "
                        f"({_describe(exc)}); re-enrol with `aurora enroll`"
                    ) from None
                reason = session.end_reason or _describe(exc)
            finally:
                self._session = None
                self.connected.clear()
                channel.close()
                self.spool.requeue_drops()
                self._renew_key = None
                self._renewed_this_stream = False
            if self._stop.is_set():
                break
            if session.welcomed.is_set():
                backoff.reset()
                failed_in_a_row = 0
            self._note_outage(endpoint, reason)
            self._endpoint_index += 1
            failed_in_a_row += 1
            if failed_in_a_row < len(endpoints):
                # Another endpoint has not been tried since the last good stream: go there now,
                # with a little jitter so a fleet leaving a dead front-end does not arrive at once.
                self._stop.wait(random.uniform(0, self.settings.reconnect_min_s))
            else:
                self._stop.wait(backoff.next_delay())

    # ------------------------------------------------------------- connection
    def _note_outage(self, endpoint: str, reason: str) -> None:
        self.counters.add("connect_failures", 1)
        if self._down_since is None:
            self._down_since = time.monotonic()
            err = TransportConnectError(
                f"collector {endpoint} is unreachable or refusing mTLS ({reason}); "
                "spooling events to disk and retrying with backoff"
            )
            log.warning("TransportConnectError: %s", err)
        else:
            log.debug("collector %s still unreachable: %s", endpoint, reason)

    def on_welcome(self, welcome: stream_pb2.Welcome) -> int:
        """Settle the spool against what the collector holds; returns the acked sequence."""
        acked = welcome.acked_through_seq
        status = self.spool.status()
        if acked >= status.next_seq:
            # The collector holds numbers this spool never issued (a wiped spool): never reuse them.
            self.spool.skip_to(acked + 1)
        if acked:
            self.spool.ack(acked)
        self.connected.set()
        endpoint = self._endpoint
        queued = self.spool.status().events_queued
        if self._down_since is not None:
            took = time.monotonic() - self._down_since
            log.info(
                "connected to collector %s again after %.1fs; %d events to deliver",
                endpoint,
                took,
                queued,
            )
            self._down_since = None
        elif not self._ever_connected:
            log.info("connected to collector %s; %d events to deliver", endpoint, queued)
        self._ever_connected = True
        self.counters.add("connects", 1)
        return max(acked, self.spool.status().acked_through)

    # -------------------------------------------------------------- renewal
    def check_renewal(self) -> None:
        """Ask for a new certificate once ``cert_renew_fraction`` of its life has passed."""
        ident = self._identity
        if ident is None or self._renew_key is not None or self._renewed_this_stream:
            return
        start, end = ident.cert_not_before, ident.cert_not_after
        due = start + (end - start) * self.settings.cert_renew_fraction
        if dt.datetime.now(dt.UTC) < due:
            return
        key_pem, csr_pem = new_key_and_csr(ident.sensor_id)
        self._renew_key = key_pem
        log.info("certificate expires at %s; asking the collector for a new one", end)
        self.send(stream_pb2.SensorMessage(renew=stream_pb2.RenewRequest(csr_pem=csr_pem)))

    def on_renewed(self, msg: stream_pb2.RenewResponse) -> None:
        key_pem, ident = self._renew_key, self._identity
        if key_pem is None or ident is None:
            log.warning("ignoring a certificate renewal nobody asked for")
            return
        try:
            cert = check_issued(msg.client_cert_pem, key_pem, ident.ca_pem)
        except EnrollmentError as exc:
            log.error("renewed certificate rejected: %s", exc)
            return
        try:
            save_renewed(self.state_dir, key_pem, msg.client_cert_pem)
        except OSError as exc:
            # A full or failing disk: keep the current pair, which is still valid, and ask again
            # on the next connection rather than on every heartbeat of this one.
            log.error("renewed certificate not saved (%s); keeping the current one", exc)
            self._renew_key = None
            self._renewed_this_stream = True
            return
        # The live stream keeps its TLS session; the new pair is used from the next connection.
        self._identity = load_identity(self.state_dir)
        self._renew_key = None
        self._renewed_this_stream = True
        self.counters.add("cert_renewals", 1)
        log.info("certificate renewed, valid until %s", cert.not_valid_after_utc)
