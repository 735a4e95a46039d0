"""The events area of the store: batches of OCSF events, per-sensor high-water marks and gaps.

Storing a batch (:meth:`EventStore.ingest`) also adds the batch's drop deltas to its host and
commits the alerts detection raised on it, all in one transaction, so a backend implements this
area together with the hosts and alerts areas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aurora.collector.store.base.alerts import AlertRepeat, NewAlert
from aurora.collector.store.packed_batch import PackedBatch


@dataclass(frozen=True)
class DropDelta:
    """Losses a sensor reports with a batch (deltas since its previous batch)."""

    kernel: int = 0
    spool_evicted: int = 0
    spool_corrupt: int = 0
    plugin: int = 0


HOUR_MS = 3_600_000


@dataclass(frozen=True)
class DropSample:
    """A sensor's reported losses summed over one hour (by the collector's receipt time)."""

    sensor_id: str
    hour_ms: int  # start of the hour, UTC
    kernel: int = 0
    spool_evicted: int = 0
    spool_corrupt: int = 0
    plugin: int = 0

    @property
    def total(self) -> int:
        return self.kernel + self.spool_evicted + self.spool_corrupt + self.plugin


@dataclass(frozen=True)
class IncomingBatch:
    """A batch already validated, ready to be stored.

    ``packed`` is the batch as the store keeps it (see :mod:`..packed_batch`), which the ingest
    path builds from the wire bytes without parsing every event; ``events`` may then be empty (it
    holds the parsed events only when detection needs them). Without ``packed`` the backend packs
    ``events`` itself.
    """

    sensor_id: str
    first_seq: int
    events: Sequence[dict[str, Any]] = ()
    packed: PackedBatch | None = None
    drops: DropDelta = DropDelta()
    received_ms: int = 0
    #: How many of its first events detection took for duplicates (None: it did not look).
    #: Alerts are raised and counted on new events only, so a store whose high-water mark
    #: disagrees stores nothing of the group and raises :class:`HighWaterMoved`.
    evaluated_skip: int | None = None

    @property
    def count(self) -> int:
        return self.packed.count if self.packed is not None else len(self.events)


class HighWaterMoved(Exception):
    """A batch's events were evaluated for alerts against a high-water mark the store has
    since moved past (another worker stored them): nothing of the group was stored. Evaluate
    the group again from the store's marks."""

    def __init__(self, sensor_id: str, first_seq: int, evaluated: int, actual: int) -> None:
        super().__init__(
            f"sensor {sensor_id}: batch {first_seq} was evaluated with {evaluated} duplicate"
            f" events, the store holds {actual} of them"
        )


def check_evaluated(batch: IncomingBatch, skip: int) -> None:
    """Raise :class:`HighWaterMoved` when detection took other events of ``batch`` for
    duplicates than the store does (``skip``)."""
    if batch.evaluated_skip is not None and batch.evaluated_skip != skip:
        raise HighWaterMoved(batch.sensor_id, batch.first_seq, batch.evaluated_skip, skip)


@dataclass(frozen=True)
class IngestResult:
    """What storing one batch did. ``gap`` is the inclusive missing range it revealed, if any."""

    sensor_id: str
    first_seq: int
    count: int
    stored: int
    duplicates: int
    high_water: int
    gap: tuple[int, int] | None = None
    #: Indexes into the batch of the events that were new (stored), for detection.
    new_indexes: range = range(0)


@dataclass(frozen=True)
class StoredEvent:
    id: int
    sensor_id: str
    seq: int
    time_ms: int
    class_uid: int
    hostname: str
    pid: int | None
    process_name: str
    event: dict[str, Any]


@dataclass(frozen=True)
class EventQuery:
    """Search criteria; every field narrows the result. Newest first."""

    sensor_ids: Sequence[str] | None = None
    class_uid: int | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    pid: int | None = None
    process_name: str | None = None
    limit: int = 100


@dataclass(frozen=True)
class Gap:
    sensor_id: str
    first_missing: int
    last_missing: int
    recorded_ms: int


@runtime_checkable
class EventStore(Protocol):
    """Events and their per-sensor sequence high-water marks and gaps."""

    def ingest(
        self, batches: Sequence[IncomingBatch], alerts: Sequence[NewAlert | AlertRepeat] = ()
    ) -> list[IngestResult]:
        """Store batches (and alerts) in ONE durable transaction, then return.

        Per sensor, events with seq <= the high-water mark are duplicates and are discarded; a
        batch starting above hwm + 1 records a gap. Batches of one sensor are applied in order.
        ``alerts`` are applied in order after the events: a :class:`NewAlert` is inserted, an
        :class:`AlertRepeat` folded into its stored alert. A batch whose ``evaluated_skip``
        disagrees with the store's duplicates fails the group with :class:`HighWaterMoved`.
        """
        ...

    def high_water(self, sensor_id: str) -> int: ...
    def gaps(self, sensor_id: str | None = None) -> list[Gap]: ...
    def search_events(self, query: EventQuery) -> list[StoredEvent]: ...
    def count_events(self, sensor_id: str | None = None) -> int: ...
    def drops_by_hour(self, since_ms: int, sensor_id: str | None = None) -> list[DropSample]:
        """Losses the sensors reported with their batches, per sensor and hour, from
        ``since_ms`` on, oldest first (kept as long as events are)."""
        ...

    def apply_retention(self, *, older_than_ms: int | None, max_bytes: int | None) -> int:
        """Delete events older than ``older_than_ms`` and then the oldest beyond ``max_bytes``
        of event data; return how many were deleted."""
        ...
