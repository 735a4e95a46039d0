"""Writing a group of batches in one transaction: claims first, then one COPY per table.

Batch bytes and index rows go in with binary COPY: no SQL to parse per row, no integer or bytea
formatting, and one round trip per table for the whole group commit. The per-event work left in
Python is handing each row's few columns to psycopg's C copy writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aurora.collector.store import packed_batch
from aurora.collector.store.base import IncomingBatch, IngestResult
from aurora.collector.store.base.events import HOUR_MS
from aurora.collector.store.postgresql.claims import Claim
from aurora.collector.store.postgresql.database import Connection, clean_text
from aurora.wire.codec import INT64_MAX

#: Estimated bytes one event's index row takes with its indexes; size-bound retention adds it to
#: each batch's compressed bytes (measured on PostgreSQL 15 with bench/bench_store.py: about 125).
EVENT_ROW_BYTES = 125

_BATCH_COLUMNS = (
    "id, host, first_seq, count, stored, received_ms, max_time_ms, part_ms, codec, size,"
    " stored_bytes, data"
)
_BATCH_TYPES = [
    "int8", "int4", "int8", "int4", "int4", "int8", "int8", "int8", "int2", "int8", "int8", "bytea",
]  # fmt: skip
_EVENT_TYPES = ["int8", "int4", "int8", "int8", "int8", "int8", "text"]
_PROCESS_TYPES = ["text", "int8", "int8"]

_ADD_DROPS = (
    "UPDATE hosts SET "
    + ", ".join(
        f"drops_{c} = drops_{c} + LEAST(%s, {INT64_MAX} - drops_{c})"
        for c in ("kernel", "spool_evicted", "spool_corrupt", "plugin")
    )
    + " WHERE sensor_id = %s"
)
_DROP_KINDS = ("kernel", "spool_evicted", "spool_corrupt", "plugin")
_ADD_HISTORY = (
    "INSERT INTO drop_history AS h (sensor_id, hour_ms, kernel, spool_evicted, spool_corrupt,"
    " plugin) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (sensor_id, hour_ms) DO UPDATE SET "
    + ", ".join(f"{c} = h.{c} + LEAST(excluded.{c}, {INT64_MAX} - h.{c})" for c in _DROP_KINDS)
)


@dataclass(frozen=True)
class Planned:
    """One batch of the group with its host key, partition key and claim."""

    batch: IncomingBatch
    pack: packed_batch.PackedBatch
    host: int
    part_ms: int
    claim: Claim


def write_group(conn: Connection, planned: Sequence[Planned]) -> list[IngestResult]:
    """Store the claimed part of every planned batch; return one result per batch, in order."""
    storing = [p for p in planned if p.claim.skip < p.pack.count]
    ids: list[int] = []
    if storing:
        ids = [
            int(r[0])
            for r in conn.execute(
                "SELECT nextval('event_batches_id_seq') FROM generate_series(1, %s)",
                (len(storing),),
            ).fetchall()
        ]
    cur = conn.cursor()
    with cur.copy(f"COPY event_batches ({_BATCH_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_BATCH_TYPES)
        for batch_id, p in zip(ids, storing, strict=True):
            keys = p.pack.keys[p.claim.skip :]
            copy.write_row(
                (
                    batch_id, p.host, p.batch.first_seq, p.pack.count, len(keys),
                    p.batch.received_ms,
                    max(k[0] for k in keys), p.part_ms, p.pack.codec, p.pack.size,
                    len(p.pack.data) + EVENT_ROW_BYTES * len(keys), p.pack.data,
                )
            )  # fmt: skip
    with cur.copy(
        "COPY events (id, host, part_ms, time_ms, class_uid, pid, process_name)"
        " FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(_EVENT_TYPES)
        for batch_id, p in zip(ids, storing, strict=True):
            first = (batch_id << packed_batch.ORDINAL_BITS) + p.claim.skip
            host, part = p.host, p.part_ms
            for i, (time_ms, class_uid, pid, name) in enumerate(p.pack.keys[p.claim.skip :]):
                copy.write_row((first + i, host, part, time_ms, class_uid, pid, clean_text(name)))
    with cur.copy(
        "COPY process_batches (process_name, batch, part_ms) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(_PROCESS_TYPES)
        for batch_id, p in zip(ids, storing, strict=True):
            names = {str(clean_text(k[3])) for k in p.pack.keys[p.claim.skip :]}
            names.discard("")
            for name in sorted(names):
                copy.write_row((name, batch_id, p.part_ms))
    marks: dict[str, int] = {}
    for p in storing:
        marks[p.batch.sensor_id] = max(marks.get(p.batch.sensor_id, 0), p.claim.high_water)
    if marks:
        cur.executemany(
            "INSERT INTO sequences (sensor_id, high_water) VALUES (%s, %s)"
            " ON CONFLICT (sensor_id) DO UPDATE"
            " SET high_water = GREATEST(sequences.high_water, excluded.high_water)",
            sorted(marks.items()),
        )
    results: list[IngestResult] = []
    for p in planned:
        d = p.batch.drops
        if d.kernel or d.spool_evicted or d.spool_corrupt or d.plugin:
            counts = (d.kernel, d.spool_evicted, d.spool_corrupt, d.plugin)
            conn.execute(_ADD_DROPS, (*counts, p.batch.sensor_id))
            received = p.batch.received_ms
            hour = received - received % HOUR_MS
            conn.execute(_ADD_HISTORY, (p.batch.sensor_id, hour, *counts))
        n, skip = p.pack.count, p.claim.skip
        results.append(
            IngestResult(
                sensor_id=p.batch.sensor_id,
                first_seq=p.batch.first_seq,
                count=n,
                stored=n - skip,
                duplicates=skip,
                high_water=p.claim.high_water,
                gap=p.claim.gap,
                new_indexes=range(skip, n),
            )
        )
    return results
