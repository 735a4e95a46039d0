"""The ingest writer against a real SQLite store: a batch the store cannot keep is refused alone
and once, whatever else shares its commit group; a store failure is not blamed on a batch; sensors
take turns at the decoder."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from aurora.collector.fair_queue import FairQueue
from aurora.collector.ingest import IngestWriter
from aurora.collector.store import HostRecord
from aurora.collector.store.base import IncomingBatch, IngestResult, NewAlert
from aurora.collector.store.sqlite import SQLiteStore
from aurora.wire.codec import encode_batch

POISON = "poison-sensor"


class _PoisonedStore(SQLiteStore):
    """A real store that cannot keep one sensor's batches: the way an unforeseen value would
    fail the whole commit group. ``broken`` makes every commit fail, like a full disk."""

    broken = False

    def ingest(
        self, batches: Sequence[IncomingBatch], alerts: Sequence[NewAlert] = ()
    ) -> list[IngestResult]:
        if self.broken:
            raise OSError(28, "No space left on device")
        if any(b.sensor_id == POISON for b in batches):
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return super().ingest(batches, alerts)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[_PoisonedStore]:
    s = _PoisonedStore(tmp_path / "aurora.db")
    for sid in (POISON, "a", "b"):
        s.register_host(HostRecord(sid, hostname=sid))
    yield s
    s.close()


def _event(seq: int) -> dict[str, object]:
    return {"class_uid": 1007, "time": 1_700_000_000_000 + seq, "process": {"pid": seq}}


def test_one_bad_batch_is_refused_once_and_its_group_is_stored(
    store: _PoisonedStore, caplog: pytest.LogCaptureFixture
) -> None:
    writer = IngestWriter(store, max_uncompressed=1 << 20)
    # Queued before the writer starts, so they are decoded together and share commit groups.
    futures = {
        sid: [writer.submit(sid, encode_batch(sid, 1 + 10 * k, [_event(k)])) for k in range(5)]
        for sid in ("a", POISON, "b")
    }
    writer.start()
    try:
        outcomes = {sid: [f.result(timeout=30) for f in fs] for sid, fs in futures.items()}
    finally:
        writer.stop()
    assert all(o.accepted for o in outcomes["a"] + outcomes["b"])
    assert not any(o.accepted for o in outcomes[POISON])
    assert all("cannot be stored" in o.reason for o in outcomes[POISON])
    assert store.count_events("a") == store.count_events("b") == 5
    assert store.count_events(POISON) == 0
    assert "Traceback" not in caplog.text


def test_a_store_failure_is_not_blamed_on_the_batch(store: _PoisonedStore) -> None:
    """A full disk is the store's fault: the batch is not refused (the sensor must resend it)."""
    store.broken = True
    writer = IngestWriter(store, max_uncompressed=1 << 20)
    writer.start()
    try:
        fut = writer.submit("a", encode_batch("a", 1, [_event(1)]))
        with pytest.raises(OSError, match="No space"):
            fut.result(timeout=30)
    finally:
        writer.stop()


def test_a_cancelled_batch_is_skipped_and_the_decoder_goes_on(store: _PoisonedStore) -> None:
    """A stream that ends cancels its pending batches; that once killed the decoder thread."""
    writer = IngestWriter(store, max_uncompressed=1 << 20)
    gone = [writer.submit("a", encode_batch("a", 1 + k, [_event(k)])) for k in range(20)]
    for fut in gone:
        fut.cancel()
    writer.start()
    try:
        assert writer.submit("b", encode_batch("b", 1, [_event(1)])).result(timeout=30).accepted
    finally:
        writer.stop()
    assert store.count_events("a") == 0


def test_sensors_take_turns_and_each_keeps_its_order() -> None:
    q: FairQueue[str] = FairQueue()
    for i in range(5):
        q.put("flood", f"f{i}")
    q.put("quiet", "q0")
    q.put("quiet", "q1")
    got = [q.get() for _ in range(7)]
    assert got == ["f0", "q0", "f1", "q1", "f2", "f3", "f4"]
    assert len(q) == 0
    # get() blocks until something is put, from another thread.
    later = threading.Timer(0.05, q.put, ("x", "late"))
    later.start()
    assert q.get() == "late"


class _FlakyStore(SQLiteStore):
    """A real store that fails every commit holding sensor a's first batch while ``down``: a
    database restarting just as that batch is written, and back for the others."""

    down = True

    def ingest(
        self, batches: Sequence[IncomingBatch], alerts: Sequence[NewAlert] = ()
    ) -> list[IngestResult]:
        if self.down and any(b.sensor_id == "a" and b.first_seq == 1 for b in batches):
            raise OSError("server closed the connection unexpectedly")
        return super().ingest(batches, alerts)


def test_batches_after_a_failed_one_wait_for_its_resend(tmp_path: Path) -> None:
    """Stored ahead of a failed batch, a later one would raise the high-water mark past it, and
    the failed batch, sent again, would be discarded as a duplicate. Later batches of that sensor
    fail too, until the failed one comes again; then all are stored, with no gap."""
    from aurora.collector.ingest import StoreBehind

    store = _FlakyStore(tmp_path / "aurora.db")
    store.register_host(HostRecord("a", hostname="a"))
    writer = IngestWriter(store, max_uncompressed=1 << 20)
    batches = [encode_batch("a", seq, [_event(seq)]) for seq in range(1, 6)]
    first = [writer.submit("a", b) for b in batches]
    writer.start()
    try:
        with pytest.raises(OSError):
            first[0].result(timeout=30)
        for fut in first[1:]:
            with pytest.raises(StoreBehind):
                fut.result(timeout=30)
        assert store.count_events("a") == 0
        store.down = False
        again = [writer.submit("a", b) for b in batches]  # the sensor resends from the oldest
        assert all(f.result(timeout=30).accepted for f in again)
    finally:
        writer.stop()
    assert store.count_events("a") == 5
    assert store.gaps("a") == []
    store.close()
