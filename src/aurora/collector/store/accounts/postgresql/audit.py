"""The audit area over PostgreSQL: the ``api_audit`` table, appended to and read newest first."""

from __future__ import annotations

from typing import Any

import orjson

from aurora.collector.store.accounts.base import AuditEntry, AuditQuery
from aurora.collector.store.postgresql.database import PostgresDatabase


class PostgresAuditLog(PostgresDatabase):
    """:class:`~..base.AuditLog` over the shared pool."""

    def append(self, entry: AuditEntry) -> int:
        with self._tx() as conn:
            row = conn.execute(
                "INSERT INTO api_audit (time_ms, actor, action, target, host, result, detail)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING audit_id",
                (
                    entry.time_ms,
                    entry.actor,
                    entry.action,
                    entry.target,
                    entry.host,
                    entry.result,
                    orjson.dumps(entry.detail).decode(),
                ),
            ).fetchone()
        return int(row[0]) if row else 0

    def query(self, query: AuditQuery) -> list[AuditEntry]:
        clauses: list[str] = []
        params: list[Any] = []
        for cond, value in (
            ("actor = %s", query.actor),
            ("action = %s", query.action),
            ("host = %s", query.host),
            ("time_ms >= %s", query.since_ms),
        ):
            if value is not None:
                clauses.append(cond)
                params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        got = self._query(
            "SELECT time_ms, actor, action, target, host, result, detail, audit_id FROM api_audit"
            f"{where} ORDER BY audit_id DESC LIMIT %s OFFSET %s",
            [*params, query.limit, query.offset],
        )
        return [AuditEntry(*r[:6], detail=orjson.loads(r[6]), audit_id=r[7]) for r in got]  # type: ignore[misc]
