"""The audit area over SQLite: the ``api_audit`` table, appended to and read newest first."""

from __future__ import annotations

from typing import Any

import orjson

from aurora.collector.store.accounts.base import AuditEntry, AuditQuery
from aurora.collector.store.sqlite.database import SQLiteDatabase


class SQLiteAuditLog(SQLiteDatabase):
    """:class:`~..base.AuditLog` over the shared connection."""

    def append(self, entry: AuditEntry) -> int:
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO api_audit (time_ms, actor, action, target, host, result, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.time_ms,
                    entry.actor,
                    entry.action,
                    entry.target,
                    entry.host,
                    entry.result,
                    orjson.dumps(entry.detail).decode(),
                ),
            )
        return int(cur.lastrowid or 0)

    def query(self, query: AuditQuery) -> list[AuditEntry]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("actor", query.actor), ("action", query.action)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.host is not None:
            clauses.append("host = ?")
            params.append(query.host)
        if query.since_ms is not None:
            clauses.append("time_ms >= ?")
            params.append(query.since_ms)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        got = self._query(
            "SELECT time_ms, actor, action, target, host, result, detail, audit_id FROM api_audit"
            f"{where} ORDER BY audit_id DESC LIMIT ? OFFSET ?",
            [*params, query.limit, query.offset],
        )
        return [AuditEntry(*r[:6], detail=orjson.loads(r[6]), audit_id=r[7]) for r in got]  # type: ignore[misc]
