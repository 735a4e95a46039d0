"""The users area over PostgreSQL: ``api_users`` (names unique and compared without case)."""

from __future__ import annotations

import psycopg.errors

from aurora.collector.store.accounts.base import UserExists, UserRecord
from aurora.collector.store.postgresql.database import PostgresDatabase

_USER_COLS = "user_id, name, role, password_hash, created_ms"


class PostgresUsers(PostgresDatabase):
    """:class:`~..base.UserStore` over the shared pool."""

    def add_user(self, name: str, role: str, password_hash: str, now_ms: int) -> UserRecord:
        try:
            with self._tx() as conn:
                row = conn.execute(
                    "INSERT INTO api_users (name, role, password_hash, created_ms)"
                    " VALUES (%s, %s, %s, %s) RETURNING user_id",
                    (name, role, password_hash, now_ms),
                ).fetchone()
        except psycopg.errors.UniqueViolation:
            raise UserExists(name) from None
        return UserRecord(int(row[0]) if row else 0, name, role, password_hash, now_ms)

    def get_user(self, name: str) -> UserRecord | None:
        got = self._query(
            f"SELECT {_USER_COLS} FROM api_users WHERE lower(name) = lower(%s)", (name,)
        )
        return UserRecord(*got[0]) if got else None

    def get_user_by_id(self, user_id: int) -> UserRecord | None:
        got = self._query(f"SELECT {_USER_COLS} FROM api_users WHERE user_id = %s", (user_id,))
        return UserRecord(*got[0]) if got else None

    def list_users(self) -> list[UserRecord]:
        got = self._query(f"SELECT {_USER_COLS} FROM api_users ORDER BY lower(name), name")
        return [UserRecord(*r) for r in got]

    def remove_user(self, name: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute("DELETE FROM api_users WHERE lower(name) = lower(%s)", (name,))
            return cur.rowcount > 0

    def set_role(self, name: str, role: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE api_users SET role = %s WHERE lower(name) = lower(%s)", (role, name)
            )
            return cur.rowcount > 0

    def set_password(self, name: str, password_hash: str) -> bool:
        with self._tx() as conn:
            row = conn.execute(
                "UPDATE api_users SET password_hash = %s WHERE lower(name) = lower(%s)"
                " RETURNING user_id",
                (password_hash, name),
            ).fetchone()
            if row is None:
                return False
            # A new password ends every session opened with the old one.
            conn.execute("DELETE FROM api_sessions WHERE user_id = %s", (row[0],))
            return True
