"""The sessions area over PostgreSQL: the ``api_sessions`` table."""

from __future__ import annotations

from aurora.collector.store.accounts.base import SessionRecord
from aurora.collector.store.postgresql.database import PostgresDatabase


class PostgresSessions(PostgresDatabase):
    """:class:`~..base.SessionStore` over the shared pool."""

    def add_session(self, session: SessionRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO api_sessions (token_hash, user_id, csrf_token, created_ms,"
                " expires_ms) VALUES (%s, %s, %s, %s, %s)",
                (
                    session.token_hash,
                    session.user_id,
                    session.csrf_token,
                    session.created_ms,
                    session.expires_ms,
                ),
            )

    def get_session(self, token_hash: str, now_ms: int) -> SessionRecord | None:
        got = self._query(
            "SELECT token_hash, user_id, csrf_token, created_ms, expires_ms FROM api_sessions"
            " WHERE token_hash = %s AND expires_ms > %s",
            (token_hash, now_ms),
        )
        return SessionRecord(*got[0]) if got else None

    def delete_session(self, token_hash: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM api_sessions WHERE token_hash = %s", (token_hash,))
