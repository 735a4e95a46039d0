"""The login-throttling area over SQLite: the ``api_login_failures`` table."""

from __future__ import annotations

from aurora.collector.store.sqlite.database import SQLiteDatabase


class SQLiteLoginThrottle(SQLiteDatabase):
    """:class:`~..base.LoginThrottle` over the shared connection."""

    def record_login_failure(self, key: str, now_ms: int) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO api_login_failures VALUES (?, ?)", (key, now_ms))
            # Old failures are worthless to the limiter; trimming here keeps the table small.
            conn.execute("DELETE FROM api_login_failures WHERE time_ms < ?", (now_ms - 86_400_000,))

    def login_failures(self, key: str, since_ms: int) -> int:
        got = self._query(
            "SELECT COUNT(*) FROM api_login_failures WHERE key = ? AND time_ms >= ?",
            (key, since_ms),
        )
        return int(got[0][0])

    def clear_login_failures(self, key: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM api_login_failures WHERE key = ?", (key,))
