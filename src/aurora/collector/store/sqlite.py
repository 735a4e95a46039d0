"""The embedded store: one SQLite file in WAL mode, implementing :class:`~.base.Store`.

One connection guarded by a lock serves every thread: SQLite allows a single writer anyway, and
the collector batches many sensors' events into one transaction (group commit), so the lock is
taken a few times per second, not per event. ``synchronous=FULL`` makes each commit durable
before the collector acknowledges the batch.

Events are stored per batch (schema version 3, :mod:`.packed_batch`): ``event_batches`` holds each
batch's compressed JSON array once, ``events`` one narrow row per event (time, class, pid, process
name, host key) under four indexes. An event's id is ``batch id << 17 | position``, so reading
an event back finds its batch by shifting, and ids follow arrival order.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from aurora.collector.store import packed_batch, rows
from aurora.collector.store.base import (
    FINAL_COMMAND_STATES,
    AlertRecord,
    CommandRecord,
    EventQuery,
    Gap,
    HostRecord,
    HostStatus,
    IncomingBatch,
    IngestResult,
    NewAlert,
    StoredEvent,
    StoreError,
    TokenRecord,
    TokenRejected,
    UploadRecord,
)
from aurora.collector.store.checkpointer import Checkpointer
from aurora.collector.store.migrate import migrate
from aurora.collector.store.sqlitedb import SQLiteDatabase

_EVENT_COLUMNS = "id, time_ms, class_uid, pid, process_name"
_INSERT_BATCH = (
    "INSERT INTO event_batches (host, first_seq, count, received_ms, max_time_ms, codec, size,"
    " data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_EVENTS = (
    "INSERT INTO events (id, host, time_ms, class_uid, pid, process_name)"
    " SELECT ?1 + key, ?2, json_extract(value, '$[0]'), json_extract(value, '$[1]'),"
    " json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?3)"
)
_INSERT_PROCESS_BATCHES = (
    "INSERT INTO process_batches (process_name, batch) SELECT value, ?1 FROM json_each(?2)"
)


class SQLiteStore(SQLiteDatabase):
    """A :class:`~.base.Store` over one SQLite file (``:memory:`` works for tests)."""

    def __init__(self, path: Path | str, *, migrate_to: int | None = None) -> None:
        super().__init__(
            path,
            pragmas=(
                "PRAGMA synchronous=FULL",
                "PRAGMA cache_size=-65536",
                # A multi-row INSERT keeps a statement journal; in memory it costs no system calls.
                "PRAGMA temp_store=MEMORY",
            ),
            migrate=lambda conn: migrate(conn, migrate_to),
            error=StoreError,
            what="store",
        )
        self._sensor_keys: dict[str, int] = {}
        self._checkpointer: Checkpointer | None = None

    def _start_checkpointer(self) -> None:
        """On the first ingest (the connection that writes events): checkpoints move to their
        own thread (see :mod:`.checkpointer`)."""
        if self.path == ":memory:":
            return
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._checkpointer = Checkpointer(self.path)
        self._checkpointer.start()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        super().close()

    # --- events ----------------------------------------------------------------------------------

    def ingest(
        self, batches: Sequence[IncomingBatch], alerts: Sequence[NewAlert] = ()
    ) -> list[IngestResult]:
        # Packing (serialising, compressing) happens before the lock is taken.
        packed = [
            b.packed if b.packed is not None else packed_batch.pack_events(b.events, b.received_ms)
            for b in batches
        ]
        results: list[IngestResult] = []
        with self._lock:
            if self._checkpointer is None:
                self._start_checkpointer()
            try:
                with self._tx() as conn:
                    for batch, pack in zip(batches, packed, strict=True):
                        results.append(self._ingest_one(conn, batch, pack))
                    if alerts:
                        self._insert_alerts(conn, alerts)
            except BaseException:
                # Keys created in the rolled-back transaction do not exist.
                self._sensor_keys.clear()
                raise
        return results

    def _sensor_key(self, conn: sqlite3.Connection, sensor_id: str) -> int:
        key = self._sensor_keys.get(sensor_id)
        if key is None:
            conn.execute("INSERT OR IGNORE INTO sensor_keys (sensor_id) VALUES (?)", (sensor_id,))
            row = conn.execute(
                "SELECT key FROM sensor_keys WHERE sensor_id = ?", (sensor_id,)
            ).fetchone()
            key = self._sensor_keys[sensor_id] = int(row[0])
        return key

    def _ingest_one(
        self, conn: sqlite3.Connection, b: IncomingBatch, pack: packed_batch.PackedBatch
    ) -> IngestResult:
        row = conn.execute(
            "SELECT high_water FROM sequences WHERE sensor_id = ?", (b.sensor_id,)
        ).fetchone()
        hwm = int(row[0]) if row else 0
        n = pack.count
        if n > packed_batch.MAX_EVENTS_PER_BATCH:
            raise ValueError(f"a batch holds at most {packed_batch.MAX_EVENTS_PER_BATCH} events")
        last = b.first_seq + n - 1
        skip = min(n, max(0, hwm - b.first_seq + 1))
        gap = (hwm + 1, b.first_seq - 1) if b.first_seq > hwm + 1 else None
        if gap is not None:
            conn.execute(
                "INSERT INTO gaps (sensor_id, first_missing, last_missing, recorded_ms)"
                " VALUES (?, ?, ?, ?)",
                (b.sensor_id, gap[0], gap[1], b.received_ms),
            )
        if skip < n:
            host = self._sensor_key(conn, b.sensor_id)
            keys = pack.keys
            batch_id = conn.execute(
                _INSERT_BATCH,
                (
                    host,
                    b.first_seq,
                    n,
                    b.received_ms,
                    max(k[0] for k in keys[skip:]),
                    pack.codec,
                    pack.size,
                    pack.data,
                ),
            ).lastrowid
            assert batch_id is not None
            # One statement for the whole batch: SQLite reads the rows out of one JSON array
            # with the GIL released, where executemany would take the GIL back for every row
            # and queue behind the threads parsing the next batches.
            first_id = (batch_id << packed_batch.ORDINAL_BITS) + skip
            # As text: SQLite 3.45+ would read a BLOB argument as its binary JSONB.
            conn.execute(_INSERT_EVENTS, (first_id, host, orjson.dumps(keys[skip:]).decode()))
            names = {k[3] for k in keys[skip:]}
            names.discard("")
            if names:
                conn.execute(
                    _INSERT_PROCESS_BATCHES, (batch_id, orjson.dumps(sorted(names)).decode())
                )
            conn.execute(
                "INSERT INTO sequences (sensor_id, high_water) VALUES (?, ?)"
                " ON CONFLICT (sensor_id) DO UPDATE SET high_water = excluded.high_water",
                (b.sensor_id, last),
            )
            hwm = last
        d = b.drops
        if d.kernel or d.spool_evicted or d.spool_corrupt:
            conn.execute(
                "UPDATE hosts SET drops_kernel = drops_kernel + ?,"
                " drops_spool_evicted = drops_spool_evicted + ?,"
                " drops_spool_corrupt = drops_spool_corrupt + ? WHERE sensor_id = ?",
                (d.kernel, d.spool_evicted, d.spool_corrupt, b.sensor_id),
            )
        return IngestResult(
            sensor_id=b.sensor_id,
            first_seq=b.first_seq,
            count=n,
            stored=n - skip,
            duplicates=skip,
            high_water=hwm,
            gap=gap,
            new_indexes=range(skip, n),
        )

    def high_water(self, sensor_id: str) -> int:
        got = self._query("SELECT high_water FROM sequences WHERE sensor_id = ?", (sensor_id,))
        return int(got[0][0]) if got else 0

    def gaps(self, sensor_id: str | None = None) -> list[Gap]:
        sql = "SELECT sensor_id, first_missing, last_missing, recorded_ms FROM gaps"
        params: tuple[Any, ...] = ()
        if sensor_id is not None:
            sql += " WHERE sensor_id = ?"
            params = (sensor_id,)
        return [Gap(*r) for r in self._query(sql + " ORDER BY id", params)]

    def search_events(self, query: EventQuery) -> list[StoredEvent]:
        where, params = rows.event_filter(query)
        with self._lock:
            if query.process_name is not None:
                found = self._find_by_process(query, where, params)
            else:
                found = self._conn.execute(
                    f"SELECT {_EVENT_COLUMNS} FROM events{where}"
                    " ORDER BY time_ms DESC, id DESC LIMIT ?",
                    [*params, query.limit],
                ).fetchall()
            wanted = sorted({r[0] >> packed_batch.ORDINAL_BITS for r in found})
            batches: list[tuple[Any, ...]] = []
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                batches += self._conn.execute(
                    "SELECT b.id, k.sensor_id, b.first_seq, b.codec, b.size, b.data"
                    " FROM event_batches b JOIN sensor_keys k ON k.key = b.host"
                    f" WHERE b.id IN ({', '.join('?' for _ in chunk)})",
                    chunk,
                ).fetchall()
        # Decompressing and parsing happen outside the lock.
        by_id = {
            bid: (sensor_id, first_seq, packed_batch.split(codec, size, data))
            for bid, sensor_id, first_seq, codec, size, data in batches
        }
        out: list[StoredEvent] = []
        mask = packed_batch.MAX_EVENTS_PER_BATCH
        for eid, time_ms, class_uid, pid, process_name in found:
            sensor_id, first_seq, raws = by_id[eid >> packed_batch.ORDINAL_BITS]
            pos = eid & mask
            ev = packed_batch.load_event(raws[pos])
            out.append(
                StoredEvent(
                    eid,
                    sensor_id,
                    first_seq + pos,
                    time_ms,
                    class_uid,
                    packed_batch.hostname_of(ev),
                    pid,
                    process_name,
                    ev,
                )
            )
        return out

    def _find_by_process(
        self, query: EventQuery, where: str, params: list[Any]
    ) -> list[tuple[Any, ...]]:
        """The newest ``query.limit`` matching events of one process name: the batches that
        hold the name are visited newest first (by their latest event time), and the walk
        stops at the first batch whose latest event is older than every event already kept."""
        batch_sql = (
            "SELECT b.id, b.max_time_ms FROM process_batches p"
            " JOIN event_batches b ON b.id = p.batch WHERE p.process_name = ?"
        )
        batch_params: list[Any] = [query.process_name]
        if query.since_ms is not None:
            batch_sql += " AND b.max_time_ms >= ?"
            batch_params.append(query.since_ms)
        batches = self._conn.execute(
            batch_sql + " ORDER BY b.max_time_ms DESC, b.id DESC", batch_params
        ).fetchall()
        sql = f"SELECT {_EVENT_COLUMNS} FROM events{where} AND id BETWEEN ? AND ?"
        kept: list[tuple[Any, ...]] = []
        for batch_id, max_time in batches:
            if len(kept) >= query.limit and max_time < kept[-1][1]:
                break
            first = batch_id << packed_batch.ORDINAL_BITS
            got = self._conn.execute(
                sql, [*params, first, first + packed_batch.MAX_EVENTS_PER_BATCH]
            ).fetchall()
            if got:
                kept = heapq.nlargest(query.limit, kept + got, key=lambda r: (r[1], r[0]))
        return kept

    def count_events(self, sensor_id: str | None = None) -> int:
        if sensor_id is None:
            return int(self._query("SELECT COUNT(*) FROM events")[0][0])
        got = self._query(
            "SELECT COUNT(*) FROM events"
            " WHERE host = (SELECT key FROM sensor_keys WHERE sensor_id = ?)",
            (sensor_id,),
        )
        return int(got[0][0])

    def apply_retention(self, *, older_than_ms: int | None, max_bytes: int | None) -> int:
        deleted = 0
        if older_than_ms is not None:
            with self._tx() as conn:
                deleted += conn.execute(
                    "DELETE FROM events WHERE time_ms < ?", (older_than_ms,)
                ).rowcount
                # A batch goes once every event it holds rows for is gone.
                conn.execute(
                    "DELETE FROM process_batches WHERE batch IN"
                    " (SELECT id FROM event_batches WHERE max_time_ms < ?)",
                    (older_than_ms,),
                )
                conn.execute("DELETE FROM event_batches WHERE max_time_ms < ?", (older_than_ms,))
        if max_bytes is not None:
            deleted += self._trim_to(max_bytes)
        return deleted

    def _trim_to(self, max_bytes: int) -> int:
        """Delete the oldest batches (by arrival) until the database's live pages fit
        ``max_bytes``. Sizes come from page counts and the batch id range, not a scan of the
        table, so a pass over a large store stays cheap."""
        with self._tx() as conn:
            used = conn.execute(
                "SELECT (p.page_count - f.freelist_count) * s.page_size"
                " FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s"
            ).fetchone()[0]
            lo, hi = conn.execute("SELECT MIN(id), MAX(id) FROM event_batches").fetchone()
            if used <= max_bytes or lo is None:
                return 0
            # Events are most of the file; delete their share of the excess, at least one batch.
            cut = lo + max(1, -(-(hi - lo + 1) * (used - max_bytes) // used))
            n = conn.execute(
                "DELETE FROM events WHERE id < ?", (cut << packed_batch.ORDINAL_BITS,)
            ).rowcount
            conn.execute("DELETE FROM process_batches WHERE batch < ?", (cut,))
            conn.execute("DELETE FROM event_batches WHERE id < ?", (cut,))
            return int(n)

    # --- fleet -----------------------------------------------------------------------------------

    def register_host(self, host: HostRecord) -> None:
        values = rows.host_values(host)
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "sensor_id")
        with self._tx() as conn:
            conn.execute(
                f"INSERT INTO hosts ({cols}) VALUES ({marks})"
                f" ON CONFLICT (sensor_id) DO UPDATE SET {updates}",
                list(values.values()),
            )

    def get_host(self, sensor_id: str) -> HostRecord | None:
        got = self._query(rows.HOST_SELECT + " WHERE h.sensor_id = ?", (sensor_id,))
        return rows.host_from_row(got[0]) if got else None

    def resolve_host(self, id_or_hostname: str) -> list[str]:
        got = self._query(
            "SELECT sensor_id FROM hosts WHERE sensor_id = ? OR hostname = ? ORDER BY sensor_id",
            (id_or_hostname, id_or_hostname),
        )
        return [r[0] for r in got]

    def list_hosts(self) -> list[HostRecord]:
        got = self._query(rows.HOST_SELECT + " ORDER BY h.hostname, h.sensor_id")
        return [rows.host_from_row(r) for r in got]

    def update_host_status(self, status: HostStatus) -> None:
        sets, params = rows.status_updates(status)
        with self._tx() as conn:
            conn.execute(
                f"UPDATE hosts SET {', '.join(sets)} WHERE sensor_id = ?",
                [*params, status.sensor_id],
            )

    def set_cert_not_after(self, sensor_id: str, not_after_ms: int) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE hosts SET cert_not_after_ms = ? WHERE sensor_id = ?",
                (not_after_ms, sensor_id),
            )

    def revoke_host(self, sensor_id: str, now_ms: int) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE hosts SET revoked = 1, revoked_ms = ? WHERE sensor_id = ?",
                (now_ms, sensor_id),
            )
            return cur.rowcount > 0

    def is_revoked(self, sensor_id: str) -> bool:
        got = self._query("SELECT revoked FROM hosts WHERE sensor_id = ?", (sensor_id,))
        return not got or bool(got[0][0])

    def mark_all_disconnected(self) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE hosts SET connected = 0 WHERE connected != 0")

    # --- tokens ----------------------------------------------------------------------------------

    def add_token(self, token: TokenRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO tokens (token_hash, created_ms, expires_ms, uses_allowed, uses, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token.token_hash,
                    token.created_ms,
                    token.expires_ms,
                    token.uses_allowed,
                    token.uses,
                    token.note,
                ),
            )

    def consume_token(self, token_hash: str, now_ms: int) -> TokenRecord:
        with self._tx() as conn:
            row = conn.execute(
                "SELECT token_hash, created_ms, expires_ms, uses_allowed, uses, note"
                " FROM tokens WHERE token_hash = ?",
                (token_hash,),
            ).fetchone()
            if row is None:
                raise TokenRejected("unknown token")
            token = TokenRecord(*row)
            if now_ms >= token.expires_ms:
                raise TokenRejected("token expired")
            if token.uses >= token.uses_allowed:
                raise TokenRejected(
                    f"token already used {token.uses} of {token.uses_allowed} times"
                )
            conn.execute("UPDATE tokens SET uses = uses + 1 WHERE token_hash = ?", (token_hash,))
        return TokenRecord(row[0], row[1], row[2], row[3], token.uses + 1, token.note)

    def list_tokens(self) -> list[TokenRecord]:
        got = self._query(
            "SELECT token_hash, created_ms, expires_ms, uses_allowed, uses, note FROM tokens"
            " ORDER BY created_ms"
        )
        return [TokenRecord(*r) for r in got]

    # --- commands --------------------------------------------------------------------------------

    def enqueue_command(self, command: CommandRecord) -> None:
        values = rows.command_values(command)
        with self._tx() as conn:
            conn.execute(
                f"INSERT INTO commands ({', '.join(values)})"
                f" VALUES ({', '.join('?' for _ in values)})",
                list(values.values()),
            )

    def get_command(self, command_id: str) -> CommandRecord | None:
        got = self._query(rows.COMMAND_SELECT + " WHERE command_id = ?", (command_id,))
        return rows.command_from_row(got[0]) if got else None

    def pending_commands(self, sensor_id: str, now_ms: int) -> list[CommandRecord]:
        with self._tx() as conn:
            conn.execute(
                "UPDATE commands SET state = 'expired', updated_ms = ?, error_code = 'expired',"
                " message = 'expired before the sensor received it'"
                " WHERE sensor_id = ? AND state = 'queued' AND expires_ms > 0 AND expires_ms <= ?",
                (now_ms, sensor_id, now_ms),
            )
            got = conn.execute(
                rows.COMMAND_SELECT
                + " WHERE sensor_id = ? AND state IN ('queued', 'sent') ORDER BY created_ms",
                (sensor_id,),
            ).fetchall()
        return [rows.command_from_row(r) for r in got]

    def list_commands(self, sensor_id: str | None = None, limit: int = 100) -> list[CommandRecord]:
        if sensor_id is None:
            got = self._query(rows.COMMAND_SELECT + " ORDER BY created_ms DESC LIMIT ?", (limit,))
        else:
            got = self._query(
                rows.COMMAND_SELECT + " WHERE sensor_id = ? ORDER BY created_ms DESC LIMIT ?",
                (sensor_id, limit),
            )
        return [rows.command_from_row(r) for r in got]

    def update_command(
        self,
        command_id: str,
        *,
        now_ms: int,
        state: str | None = None,
        progress: float | None = None,
        stage: str | None = None,
        error_code: str | None = None,
        message: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> bool:
        sets, params = ["updated_ms = ?"], [now_ms]
        for col, val in (
            ("state", state),
            ("progress", progress),
            ("stage", stage),
            ("error_code", error_code),
            ("message", message),
        ):
            if val is not None:
                sets.append(f"{col} = ?")
                params.append(val)  # type: ignore[arg-type]
        if result is not None:
            sets.append("result = ?")
            params.append(orjson.dumps(result).decode())  # type: ignore[arg-type]
        with self._tx() as conn:
            row = conn.execute(
                "SELECT state FROM commands WHERE command_id = ?", (command_id,)
            ).fetchone()
            if row is None:
                return False
            # A final state is final: a late progress message must not reopen it.
            if row[0] in FINAL_COMMAND_STATES and state not in FINAL_COMMAND_STATES:
                return True
            conn.execute(
                f"UPDATE commands SET {', '.join(sets)} WHERE command_id = ?",
                [*params, command_id],
            )
        return True

    # --- uploads ---------------------------------------------------------------------------------

    def record_upload(self, upload: UploadRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO uploads (command_id, sensor_id, path, size, sha256, complete,"
                " updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (command_id) DO UPDATE SET"
                " path = excluded.path, size = excluded.size, sha256 = excluded.sha256,"
                " complete = excluded.complete, updated_ms = excluded.updated_ms",
                (
                    upload.command_id,
                    upload.sensor_id,
                    upload.path,
                    upload.size,
                    upload.sha256,
                    int(upload.complete),
                    upload.updated_ms,
                ),
            )

    def get_upload(self, command_id: str) -> UploadRecord | None:
        got = self._query(
            "SELECT command_id, sensor_id, path, size, sha256, complete, updated_ms FROM uploads"
            " WHERE command_id = ?",
            (command_id,),
        )
        if not got:
            return None
        r = got[0]
        return UploadRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6])

    # --- alerts ----------------------------------------------------------------------------------

    def _insert_alerts(self, conn: sqlite3.Connection, alerts: Sequence[NewAlert]) -> list[int]:
        ids: list[int] = []
        for a in alerts:
            cur = conn.execute(
                "INSERT INTO alerts (rule_uid, sensor_id, dedup_key, severity_id, title, status,"
                " first_seen_ms, last_seen_ms, count, finding)"
                " VALUES (?, ?, ?, ?, ?, 'new', ?, ?, 1, ?)",
                (
                    a.rule_uid,
                    a.sensor_id,
                    a.dedup_key,
                    a.severity_id,
                    a.title,
                    a.time_ms,
                    a.time_ms,
                    orjson.dumps(a.finding).decode(),
                ),
            )
            ids.append(int(cur.lastrowid or 0))
        return ids

    def add_alerts(self, alerts: Sequence[NewAlert]) -> list[int]:
        with self._tx() as conn:
            return self._insert_alerts(conn, alerts)

    def bump_alert(
        self, alert_id: int, time_ms: int, finding: dict[str, Any] | None, count: int = 1
    ) -> None:
        with self._tx() as conn:
            if finding is None:
                conn.execute(
                    "UPDATE alerts SET count = count + ?, last_seen_ms = MAX(last_seen_ms, ?)"
                    " WHERE alert_id = ?",
                    (count, time_ms, alert_id),
                )
            else:
                conn.execute(
                    "UPDATE alerts SET count = count + ?, last_seen_ms = MAX(last_seen_ms, ?),"
                    " finding = ? WHERE alert_id = ?",
                    (count, time_ms, orjson.dumps(finding).decode(), alert_id),
                )

    def list_alerts(
        self,
        *,
        since_ms: int | None = None,
        status: str | None = None,
        sensor_id: str | None = None,
        limit: int = 1000,
    ) -> list[AlertRecord]:
        clauses: list[str] = []
        params: list[Any] = []
        if since_ms is not None:
            clauses.append("last_seen_ms >= ?")
            params.append(since_ms)
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if sensor_id is not None:
            clauses.append("sensor_id = ?")
            params.append(sensor_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        got = self._query(
            f"{rows.ALERT_SELECT}{where} ORDER BY last_seen_ms DESC, alert_id DESC LIMIT ?",
            [*params, limit],
        )
        return [rows.alert_from_row(r) for r in got]

    def get_alert(self, alert_id: int) -> AlertRecord | None:
        got = self._query(rows.ALERT_SELECT + " WHERE alert_id = ?", (alert_id,))
        return rows.alert_from_row(got[0]) if got else None

    def set_alert_status(self, alert_id: int, status: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE alerts SET status = ? WHERE alert_id = ?", (status, alert_id)
            )
            return cur.rowcount > 0
