"""The alert-annotation area over PostgreSQL: ``api_alert_assignments``, ``api_alert_comments``."""

from __future__ import annotations

from collections.abc import Sequence

from aurora.collector.store.accounts.base import CommentRecord
from aurora.collector.store.postgresql.database import PostgresDatabase


class PostgresAlertAnnotations(PostgresDatabase):
    """:class:`~..base.AlertAnnotations` over the shared pool."""

    def assign_alert(self, alert_id: int, assignee: str, now_ms: int) -> None:
        with self._tx() as conn:
            if not assignee:
                conn.execute("DELETE FROM api_alert_assignments WHERE alert_id = %s", (alert_id,))
                return
            conn.execute(
                "INSERT INTO api_alert_assignments VALUES (%s, %s, %s) ON CONFLICT (alert_id)"
                " DO UPDATE SET assignee = excluded.assignee, updated_ms = excluded.updated_ms",
                (alert_id, assignee, now_ms),
            )

    def assignees(self, alert_ids: Sequence[int]) -> dict[int, str]:
        if not alert_ids:
            return {}
        got = self._query(
            "SELECT alert_id, assignee FROM api_alert_assignments WHERE alert_id = ANY(%s)",
            (list(alert_ids),),
        )
        return {int(a): str(b) for a, b in got}

    def add_comment(self, alert_id: int, author: str, text: str, now_ms: int) -> CommentRecord:
        with self._tx() as conn:
            row = conn.execute(
                "INSERT INTO api_alert_comments (alert_id, author, text, time_ms)"
                " VALUES (%s, %s, %s, %s) RETURNING comment_id",
                (alert_id, author, text, now_ms),
            ).fetchone()
        return CommentRecord(int(row[0]) if row else 0, alert_id, author, text, now_ms)

    def list_comments(self, alert_id: int) -> list[CommentRecord]:
        got = self._query(
            "SELECT comment_id, alert_id, author, text, time_ms FROM api_alert_comments"
            " WHERE alert_id = %s ORDER BY comment_id",
            (alert_id,),
        )
        return [CommentRecord(*r) for r in got]
