"""The users area over SQLite: the ``api_users`` table (names compare without case)."""

from __future__ import annotations

import sqlite3

from aurora.collector.store.accounts.base import UserExists, UserRecord
from aurora.collector.store.sqlite.database import SQLiteDatabase

_USER_COLS = "user_id, name, role, password_hash, created_ms"


class SQLiteUsers(SQLiteDatabase):
    """:class:`~..base.UserStore` over the shared connection."""

    def add_user(self, name: str, role: str, password_hash: str, now_ms: int) -> UserRecord:
        try:
            with self._tx() as conn:
                cur = conn.execute(
                    "INSERT INTO api_users (name, role, password_hash, created_ms)"
                    " VALUES (?, ?, ?, ?)",
                    (name, role, password_hash, now_ms),
                )
        except sqlite3.IntegrityError:
            raise UserExists(name) from None
        return UserRecord(int(cur.lastrowid or 0), name, role, password_hash, now_ms)

    def get_user(self, name: str) -> UserRecord | None:
        got = self._query(f"SELECT {_USER_COLS} FROM api_users WHERE name = ?", (name,))
        return UserRecord(*got[0]) if got else None

    def get_user_by_id(self, user_id: int) -> UserRecord | None:
        got = self._query(f"SELECT {_USER_COLS} FROM api_users WHERE user_id = ?", (user_id,))
        return UserRecord(*got[0]) if got else None

    def list_users(self) -> list[UserRecord]:
        return [
            UserRecord(*r) for r in self._query(f"SELECT {_USER_COLS} FROM api_users ORDER BY name")
        ]

    def remove_user(self, name: str) -> bool:
        with self._tx() as conn:
            return conn.execute("DELETE FROM api_users WHERE name = ?", (name,)).rowcount > 0

    def set_role(self, name: str, role: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute("UPDATE api_users SET role = ? WHERE name = ?", (role, name))
            return cur.rowcount > 0

    def set_password(self, name: str, password_hash: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE api_users SET password_hash = ? WHERE name = ?", (password_hash, name)
            )
            if cur.rowcount == 0:
                return False
            conn.execute(
                "DELETE FROM api_sessions WHERE user_id = (SELECT user_id FROM api_users"
                " WHERE name = ?)",
                (name,),
            )
            return True
