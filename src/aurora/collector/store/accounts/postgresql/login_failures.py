"""The login-throttling area over PostgreSQL: the ``api_login_failures`` table."""

from __future__ import annotations

from aurora.collector.store.postgresql.database import PostgresDatabase


class PostgresLoginThrottle(PostgresDatabase):
    """:class:`~..base.LoginThrottle` over the shared pool."""

    def record_login_failure(self, key: str, now_ms: int) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO api_login_failures VALUES (%s, %s)", (key, now_ms))
            # Old failures are worthless to the limiter; trimming here keeps the table small.
            conn.execute(
                "DELETE FROM api_login_failures WHERE time_ms < %s", (now_ms - 86_400_000,)
            )

    def login_failures(self, key: str, since_ms: int) -> int:
        got = self._query(
            "SELECT COUNT(*) FROM api_login_failures WHERE key = %s AND time_ms >= %s",
            (key, since_ms),
        )
        return int(got[0][0])

    def clear_login_failures(self, key: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM api_login_failures WHERE key = %s", (key,))
