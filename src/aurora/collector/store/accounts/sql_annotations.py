"""The analysts' console state (alert assignments and comments, the audit log, disabled rules) in
SQL that both backends run as written (:mod:`aurora.collector.store.sql_dialect`)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from aurora.collector.store.accounts.base import AuditEntry, AuditQuery, CommentRecord
from aurora.collector.store.sql_dialect import SQLDatabase, given, rows, sql, where


class SQLAlertAnnotations:
    """:class:`~.base.AlertAnnotations`, mixed into a backend's account store."""

    def assign_alert(self: SQLDatabase, alert_id: int, assignee: str, now_ms: int) -> None:
        with self._tx() as conn:
            if not assignee:
                conn.execute(
                    sql(self, "DELETE FROM api_alert_assignments WHERE alert_id = ?"), (alert_id,)
                )
                return
            conn.execute(
                sql(
                    self,
                    "INSERT INTO api_alert_assignments VALUES (?, ?, ?) ON CONFLICT (alert_id)"
                    " DO UPDATE SET assignee = excluded.assignee, updated_ms = excluded.updated_ms",
                ),
                (alert_id, assignee, now_ms),
            )

    def assignees(self: SQLDatabase, alert_ids: Sequence[int]) -> dict[int, str]:
        if not alert_ids:
            return {}
        one_of, params = self._one_of("alert_id", alert_ids)
        got = rows(
            self, f"SELECT alert_id, assignee FROM api_alert_assignments WHERE {one_of}", params
        )
        return {int(a): str(b) for a, b in got}

    def add_comment(
        self: SQLDatabase, alert_id: int, author: str, text: str, now_ms: int
    ) -> CommentRecord:
        with self._tx() as conn:
            comment_id = self._insert_id(
                conn,
                sql(
                    self,
                    "INSERT INTO api_alert_comments (alert_id, author, text, time_ms)"
                    " VALUES (?, ?, ?, ?)",
                ),
                (alert_id, author, text, now_ms),
                "comment_id",
            )
        return CommentRecord(comment_id, alert_id, author, text, now_ms)

    def list_comments(self: SQLDatabase, alert_id: int) -> list[CommentRecord]:
        got = rows(
            self,
            "SELECT comment_id, alert_id, author, text, time_ms FROM api_alert_comments"
            " WHERE alert_id = ? ORDER BY comment_id",
            (alert_id,),
        )
        return [CommentRecord(*r) for r in got]


class SQLDisabledRules:
    """:class:`~.base.DisabledRules`, mixed into a backend's account store."""

    def set_rule_disabled(
        self: SQLDatabase, rule_id: str, disabled: bool, by: str, now_ms: int
    ) -> None:
        with self._tx() as conn:
            if disabled:
                conn.execute(
                    sql(
                        self,
                        "INSERT INTO api_disabled_rules VALUES (?, ?, ?) ON CONFLICT (rule_id)"
                        " DO UPDATE SET disabled_by = excluded.disabled_by,"
                        " time_ms = excluded.time_ms",
                    ),
                    (rule_id, by, now_ms),
                )
            else:
                conn.execute(
                    sql(self, "DELETE FROM api_disabled_rules WHERE rule_id = ?"), (rule_id,)
                )

    def disabled_rules(self: SQLDatabase) -> set[str]:
        return {r[0] for r in rows(self, "SELECT rule_id FROM api_disabled_rules")}


class SQLAuditLog:
    """:class:`~.base.AuditLog`, mixed into a backend's account store."""

    def append(self: SQLDatabase, entry: AuditEntry) -> int:
        with self._tx() as conn:
            return self._insert_id(
                conn,
                sql(
                    self,
                    "INSERT INTO api_audit (time_ms, actor, action, target, host, result, detail)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                ),
                (
                    entry.time_ms,
                    entry.actor,
                    entry.action,
                    entry.target,
                    entry.host,
                    entry.result,
                    orjson.dumps(entry.detail).decode(),
                ),
                "audit_id",
            )

    def query(self: SQLDatabase, query: AuditQuery) -> list[AuditEntry]:
        clauses, params = given(
            ("actor = ?", query.actor),
            ("action = ?", query.action),
            ("host = ?", query.host),
            ("time_ms >= ?", query.since_ms),
        )
        got = rows(
            self,
            "SELECT time_ms, actor, action, target, host, result, detail, audit_id FROM api_audit"
            f"{where(clauses)} ORDER BY audit_id DESC LIMIT ? OFFSET ?",
            [*params, query.limit, query.offset],
        )
        return [AuditEntry(*r[:6], detail=orjson.loads(r[6]), audit_id=r[7]) for r in got]  # type: ignore[misc]
