"""The sensor stream over real gRPC + mTLS: order, dedup, gaps, bad input, revocation, renewal."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from cryptography import x509

sys.path.insert(0, str(Path(__file__).parent))

from client import Identity, Stream, make_event, new_key_and_csr

from aurora.collector.server import Collector
from aurora.collector.store import EventQuery
from aurora.collector.store.sqlite import SQLiteStore
from aurora.v1 import common_pb2, stream_pb2
from aurora.wire.codec import encode_batch
from conftest import addr, make_config


def _events(first: int, n: int) -> list[dict[str, object]]:
    return [make_event(first + i) for i in range(n)]


@pytest.fixture
def stream(collector: Collector, enrolled: Callable[..., Identity]) -> Stream:
    s = Stream(addr(collector), enrolled())
    s.hello()
    yield s  # type: ignore[misc]
    s.close()


def test_batches_are_stored_then_acked_in_order(collector: Collector, stream: Stream) -> None:
    for k in range(20):
        stream.batch(1 + 50 * k, _events(1 + 50 * k, 50))
    acks = [stream.recv_kind("ack") for _ in range(20)]
    assert [a.first_seq for a in acks] == [1 + 50 * k for k in range(20)]
    assert all(a.accepted for a in acks)
    assert collector.store is not None
    # Acked means committed: a separate connection to the file sees every event.
    other = SQLiteStore(collector.state_dir / "aurora.db")
    try:
        assert other.count_events(stream.ident.sensor_id) == 1000
        assert other.high_water(stream.ident.sensor_id) == 1000
    finally:
        other.close()


def test_duplicates_gaps_and_welcome_after_reconnect(
    collector: Collector, enrolled: Callable[..., Identity]
) -> None:
    ident = enrolled()
    s = Stream(addr(collector), ident)
    s.hello()
    s.batch(1, _events(1, 10))
    s.batch(1, _events(1, 10))  # a resend after a lost ack
    s.batch(21, _events(21, 5))  # 11..20 never arrive (evicted on the sensor)
    acks = [s.recv_kind("ack") for _ in range(3)]
    assert all(a.accepted for a in acks)
    s.close()
    assert collector.store is not None
    assert collector.store.count_events(ident.sensor_id) == 15
    [gap] = collector.store.gaps(ident.sensor_id)
    assert (gap.first_missing, gap.last_missing) == (11, 20)
    again = Stream(addr(collector), ident)
    try:
        assert again.hello().acked_through_seq == 25
    finally:
        again.close()


def test_drop_totals_are_the_sum_of_batch_deltas(collector: Collector, stream: Stream) -> None:
    """Heartbeats repeat the sensor's cumulative losses; only the batch deltas count."""
    sid = stream.ident.sensor_id

    def heartbeat(lost: int) -> None:
        stream.send(
            heartbeat=stream_pb2.Heartbeat(
                sensor_id=sid,
                counters={
                    "lost_kernel": lost,
                    "lost_spool_evicted": 2 * lost,
                    "lost_spool_corrupt": lost,
                    "drops_kernel": lost,  # the old name must not count either
                },
            )
        )

    heartbeat(3)
    stream.batch(1, _events(1, 2), kernel_drops=3, spool_evicted=6)
    assert stream.recv_kind("ack").accepted
    heartbeat(7)
    stream.batch(3, _events(3, 2), kernel_drops=4, spool_evicted=8, spool_corrupt=1)
    assert stream.recv_kind("ack").accepted
    heartbeat(7)  # the same cumulative figure again: nothing new was lost
    # Messages are handled in order, so this ack means every heartbeat above was applied.
    stream.batch(5, _events(5, 1))
    assert stream.recv_kind("ack").accepted
    assert collector.store is not None
    h = collector.store.get_host(sid)
    assert h is not None and h.counters["lost_kernel"] == 7
    assert (h.drops_kernel, h.drops_spool_evicted, h.drops_spool_corrupt) == (7, 14, 1)


def test_bad_batches_are_rejected_with_a_logged_reason_and_the_stream_goes_on(
    tmp_path: Path,
    enrolled_factory: Callable[[Collector], Callable[..., Identity]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    c = Collector(make_config(tmp_path / "c", max_batch_bytes=4096))
    c.start()
    try:
        enrol = enrolled_factory(c)
        a, b = enrol("a"), enrol("b")
        sa, sb = Stream(addr(c), a), Stream(addr(c), b)
        sa.hello()
        sb.hello()
        caplog.set_level(logging.WARNING, logger="aurora.collector")
        corrupt = encode_batch(a.sensor_id, 1, _events(1, 2))
        corrupt.events = b"\x28\xb5\x2f\xfd garbage"
        sa.send(batch=corrupt)
        not_json = encode_batch(a.sensor_id, 1, _events(1, 1), compress=False)
        not_json.events = b"[{oops"
        sa.send(batch=not_json)
        sa.batch(1, [make_event(1, blob="x" * 10_000)], compress=False)  # oversized
        sa.send(batch=encode_batch(b.sensor_id, 1, _events(1, 2)))  # someone else's id
        lying = encode_batch(a.sensor_id, 1, _events(1, 3))
        lying.count = 5
        sa.send(batch=lying)
        sb.batch(1, _events(1, 5))  # the other sensor is unaffected
        rejected = [sa.recv_kind("ack") for _ in range(5)]
        assert [r.accepted for r in rejected] == [False] * 5
        reasons = [r.reason for r in rejected]
        assert "corrupt zstd" in reasons[0]
        assert "not valid JSON" in reasons[1]
        assert "limit is 4096" in reasons[2]
        assert "this stream is" in reasons[3]
        assert "claims 5 events but holds 3" in reasons[4]
        assert sb.recv_kind("ack").accepted
        sa.batch(1, _events(1, 3))  # the same stream still works
        assert sa.recv_kind("ack").accepted
        logged = "\n".join(r.getMessage() for r in caplog.records)
        for reason in reasons:
            assert reason in logged
        assert c.store is not None
        assert c.store.count_events(a.sensor_id) == 3 and c.store.count_events(b.sensor_id) == 5
        sa.close()
        sb.close()
    finally:
        c.stop()


@pytest.fixture
def enrolled_factory() -> Callable[[Collector], Callable[..., Identity]]:
    from client import enroll

    from aurora.collector.tokens import create_token

    def factory(c: Collector) -> Callable[..., Identity]:
        def _enroll(hostname: str = "h") -> Identity:
            assert c.store is not None and c.ca is not None
            return enroll(addr(c), create_token(c.store, 60, 1).token, c.ca.cert_pem, hostname)

        return _enroll

    return factory


def test_heartbeat_updates_the_fleet_table(collector: Collector, stream: Stream) -> None:
    stream.send(
        heartbeat=stream_pb2.Heartbeat(
            sensor_id=stream.ident.sensor_id,
            health=stream_pb2.HEALTH_DEGRADED,
            capabilities=[common_pb2.Capability(name="dns", loaded=False, reason="no tracefs")],
            spool=stream_pb2.SpoolStatus(bytes_used=123, bytes_max=1000, events_queued=7),
            counters={"lost_kernel": 3},
            isolation=2,
        )
    )
    assert collector.store is not None
    deadline = time.time() + 5
    while time.time() < deadline:
        h = collector.store.get_host(stream.ident.sensor_id)
        if h is not None and h.health == "degraded":
            break
        time.sleep(0.05)
    assert h is not None
    assert (h.health, h.queue_depth, h.spool_bytes, h.isolation, h.counters) == (
        "degraded",
        7,
        123,
        "isolated",
        {"lost_kernel": 3},
    )
    assert h.connected
    assert h.capabilities == ({"name": "dns", "loaded": False, "reason": "no tracefs"},)


def test_revocation_from_another_process_ends_the_stream_at_the_next_heartbeat(
    collector: Collector, stream: Stream
) -> None:
    # `aurora hosts revoke` runs in another process: it only writes the database.
    other = SQLiteStore(collector.state_dir / "aurora.db")
    other.revoke_host(stream.ident.sensor_id, int(time.time() * 1000))
    other.close()
    stream.send(heartbeat=stream_pb2.Heartbeat(sensor_id=stream.ident.sensor_id))
    bye = stream.recv_kind("goodbye", timeout=5)
    assert bye.reason == stream_pb2.Goodbye.REASON_REVOKED
    assert stream.recv(timeout=5) is None  # the stream is closed


def test_in_process_revocation_ends_the_stream_at_once(
    collector: Collector, stream: Stream
) -> None:
    assert collector.revoke(stream.ident.sensor_id)
    assert stream.recv_kind("goodbye", timeout=5).reason == stream_pb2.Goodbye.REASON_REVOKED


def test_certificate_renewal_over_the_stream(collector: Collector, stream: Stream) -> None:
    key_pem, csr = new_key_and_csr("whatever")
    stream.send(renew=stream_pb2.RenewRequest(csr_pem=csr))
    renewed = stream.recv_kind("renewed")
    cert = x509.load_pem_x509_certificate(renewed.client_cert_pem)
    cn = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
    assert cn == stream.ident.sensor_id
    assert renewed.cert_not_after_unix_ms > time.time() * 1000 + 3600_000
    fresh = Identity(stream.ident.sensor_id, key_pem, renewed.client_cert_pem, stream.ident.ca_pem)
    s2 = Stream(addr(collector), fresh)
    try:
        s2.hello()
    finally:
        s2.close()


def test_expired_client_certificate_is_refused(
    collector: Collector, enrolled: Callable[..., Identity]
) -> None:
    ident = enrolled()
    assert collector.ca is not None
    key_pem, csr = new_key_and_csr()
    old = collector.ca.issue_sensor_cert(csr, ident.sensor_id, dt.timedelta(minutes=-2))
    s = Stream(addr(collector), Identity(ident.sensor_id, key_pem, old.pem, ident.ca_pem))
    try:
        with pytest.raises(grpc.RpcError) as info:
            s.hello()
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        s.close()


def test_events_are_searchable_by_host_and_class(collector: Collector, stream: Stream) -> None:
    events = _events(1, 4)
    events[0]["class_uid"] = 4001
    stream.batch(1, events)
    stream.recv_kind("ack")
    assert collector.store is not None
    got = collector.store.search_events(
        EventQuery(sensor_ids=collector.store.resolve_host(stream.ident.sensor_id), class_uid=4001)
    )
    assert [e.seq for e in got] == [1]
