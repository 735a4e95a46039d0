"""Claiming a batch's new sequence numbers: duplicates discarded by a key, not by a lock.

Each stored range of a sensor's events inserts one ``sequence_links`` row keyed by (sensor, the
high-water mark it was stored after). Two nodes that read the same mark and try to store the same
events insert the same key: PostgreSQL makes the second wait for the first, then refuses it; the
second rolls back to its savepoint, reads the new mark and keeps only what is newer. Gaps are
recorded inside the same savepoint, so a refused claim leaves no gap behind either.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg.errors

from aurora.collector.store.base import IncomingBatch, StoreError
from aurora.collector.store.postgresql.database import Connection
from aurora.wire.codec import INT64_MAX

#: A claim refused this many times in a row means something other than a race is wrong.
MAX_CLAIM_ATTEMPTS = 50


@dataclass(frozen=True)
class Claim:
    """What one batch may store: events from index ``skip`` on, ``gap`` it revealed, if any."""

    skip: int
    gap: tuple[int, int] | None
    high_water: int


def read_high_water(conn: Connection, host: int) -> int:
    row = conn.execute(
        "SELECT last_seq FROM sequence_links WHERE host = %s ORDER BY after_seq DESC LIMIT 1",
        (host,),
    ).fetchone()
    return int(row[0]) if row else 0


def claim(
    conn: Connection,
    host: int,
    batch: IncomingBatch,
    count: int,
    marks: dict[int, int],
    now: int,
) -> Claim:
    """Claim ``batch``'s events above the high-water mark inside the caller's transaction.

    ``marks`` holds the marks this transaction already moved (several batches of one sensor in
    one group commit apply in order).
    """
    last = batch.first_seq + count - 1
    if last > INT64_MAX:
        # The batch's fault, as SQLite's OverflowError is: refused, never resent.
        raise OverflowError(f"sequence number {last} does not fit in 64 bits")
    for _ in range(MAX_CLAIM_ATTEMPTS):
        hwm = marks[host] if host in marks else read_high_water(conn, host)
        skip = min(count, max(0, hwm - batch.first_seq + 1))
        if skip == count:
            return Claim(skip, None, hwm)
        gap = (hwm + 1, batch.first_seq - 1) if batch.first_seq > hwm + 1 else None
        try:
            with conn.transaction():  # a savepoint: a refused claim undoes only itself
                conn.execute(
                    "INSERT INTO sequence_links (host, after_seq, last_seq, recorded_ms)"
                    " VALUES (%s, %s, %s, %s)",
                    (host, hwm, last, now),
                )
                if gap is not None:
                    conn.execute(
                        "INSERT INTO gaps (sensor_id, first_missing, last_missing, recorded_ms)"
                        " VALUES (%s, %s, %s, %s)",
                        (batch.sensor_id, gap[0], gap[1], batch.received_ms),
                    )
        except psycopg.errors.UniqueViolation:
            # Another node stored after the same mark first: read the mark it left.
            marks.pop(host, None)
            continue
        marks[host] = last
        return Claim(skip, gap, last)
    raise StoreError(
        f"could not claim events of sensor {batch.sensor_id} after {MAX_CLAIM_ATTEMPTS} attempts"
    )
