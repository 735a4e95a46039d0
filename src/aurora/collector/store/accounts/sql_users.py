"""Users, browser sessions and login throttling (``api_users``, ``api_sessions``,
``api_login_failures``) in SQL that both backends run as written; how a name is compared without
case is the backend's (:class:`AccountsDatabase`)."""

from __future__ import annotations

from typing import Protocol

from aurora.collector.store.accounts.base import SessionRecord, UserExists, UserRecord
from aurora.collector.store.sql_dialect import SQLDatabase, rows, sql

_USER_COLS = "user_id, name, role, password_hash, created_ms"
#: Failures older than this are worthless to the limiter.
_FAILURE_KEPT_MS = 86_400_000


class AccountsDatabase(SQLDatabase, Protocol):
    """A backend's account store: its dialect and how its schema compares user names."""

    #: ``name`` is the given name (one ``?``), without regard to case.
    USER_NAME_IS: str
    #: The order users are listed in: by name, without regard to case.
    USERS_ORDER: str


class SQLUsers:
    """:class:`~.base.UserStore`, mixed into a backend's account store."""

    def add_user(
        self: AccountsDatabase, name: str, role: str, password_hash: str, now_ms: int
    ) -> UserRecord:
        try:
            with self._tx() as conn:
                user_id = self._insert_id(
                    conn,
                    sql(
                        self,
                        "INSERT INTO api_users (name, role, password_hash, created_ms)"
                        " VALUES (?, ?, ?, ?)",
                    ),
                    (name, role, password_hash, now_ms),
                    "user_id",
                )
        except self.DUPLICATE_KEY:
            raise UserExists(name) from None
        return UserRecord(user_id, name, role, password_hash, now_ms)

    def get_user(self: AccountsDatabase, name: str) -> UserRecord | None:
        got = rows(self, f"SELECT {_USER_COLS} FROM api_users WHERE {self.USER_NAME_IS}", (name,))
        return UserRecord(*got[0]) if got else None

    def get_user_by_id(self: AccountsDatabase, user_id: int) -> UserRecord | None:
        got = rows(self, f"SELECT {_USER_COLS} FROM api_users WHERE user_id = ?", (user_id,))
        return UserRecord(*got[0]) if got else None

    def list_users(self: AccountsDatabase) -> list[UserRecord]:
        got = rows(self, f"SELECT {_USER_COLS} FROM api_users ORDER BY {self.USERS_ORDER}")
        return [UserRecord(*r) for r in got]

    def remove_user(self: AccountsDatabase, name: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                sql(self, f"DELETE FROM api_users WHERE {self.USER_NAME_IS}"), (name,)
            )
            return bool(cur.rowcount > 0)

    def set_role(self: AccountsDatabase, name: str, role: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                sql(self, f"UPDATE api_users SET role = ? WHERE {self.USER_NAME_IS}"), (role, name)
            )
            return bool(cur.rowcount > 0)

    def set_password(self: AccountsDatabase, name: str, password_hash: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                sql(self, f"UPDATE api_users SET password_hash = ? WHERE {self.USER_NAME_IS}"),
                (password_hash, name),
            )
            if cur.rowcount == 0:
                return False
            # A new password ends every session opened with the old one.
            conn.execute(
                sql(
                    self,
                    "DELETE FROM api_sessions WHERE user_id = (SELECT user_id FROM api_users"
                    f" WHERE {self.USER_NAME_IS})",
                ),
                (name,),
            )
            return True


class SQLSessions:
    """:class:`~.base.SessionStore`, mixed into a backend's account store."""

    def add_session(self: SQLDatabase, session: SessionRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                sql(
                    self,
                    "INSERT INTO api_sessions (token_hash, user_id, csrf_token, created_ms,"
                    " expires_ms) VALUES (?, ?, ?, ?, ?)",
                ),
                (
                    session.token_hash,
                    session.user_id,
                    session.csrf_token,
                    session.created_ms,
                    session.expires_ms,
                ),
            )

    def get_session(self: SQLDatabase, token_hash: str, now_ms: int) -> SessionRecord | None:
        got = rows(
            self,
            "SELECT token_hash, user_id, csrf_token, created_ms, expires_ms FROM api_sessions"
            " WHERE token_hash = ? AND expires_ms > ?",
            (token_hash, now_ms),
        )
        return SessionRecord(*got[0]) if got else None

    def delete_session(self: SQLDatabase, token_hash: str) -> None:
        with self._tx() as conn:
            conn.execute(sql(self, "DELETE FROM api_sessions WHERE token_hash = ?"), (token_hash,))


class SQLLoginThrottle:
    """:class:`~.base.LoginThrottle`, mixed into a backend's account store."""

    def record_login_failure(self: SQLDatabase, key: str, now_ms: int) -> None:
        with self._tx() as conn:
            conn.execute(sql(self, "INSERT INTO api_login_failures VALUES (?, ?)"), (key, now_ms))
            # Trimming here keeps the table small.
            conn.execute(
                sql(self, "DELETE FROM api_login_failures WHERE time_ms < ?"),
                (now_ms - _FAILURE_KEPT_MS,),
            )

    def login_failures(self: SQLDatabase, key: str, since_ms: int) -> int:
        got = rows(
            self,
            "SELECT COUNT(*) FROM api_login_failures WHERE key = ? AND time_ms >= ?",
            (key, since_ms),
        )
        return int(got[0][0])

    def clear_login_failures(self: SQLDatabase, key: str) -> None:
        with self._tx() as conn:
            conn.execute(sql(self, "DELETE FROM api_login_failures WHERE key = ?"), (key,))
