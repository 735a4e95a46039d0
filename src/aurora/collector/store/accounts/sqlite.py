"""SQLite implementation of :class:`AccountStore` and :class:`AuditLog`, in the collector's file.

The tables share ``<state>/aurora.db`` with the collector's store but carry their own migration
history (``api_schema_version``), so the two schemas evolve independently. One connection behind a
lock serves every thread, as the collector's store does; account traffic is tiny by comparison.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from aurora.collector.store.accounts.base import (
    AccountError,
    ApiTokenRecord,
    AuditEntry,
    AuditQuery,
    CommentRecord,
    SessionRecord,
    UserExists,
    UserRecord,
)
from aurora.collector.store.migrate import migrate
from aurora.collector.store.sqlitedb import SQLiteDatabase

MIGRATIONS = "aurora.collector.store.accounts.migrations"
_USER_COLS = "user_id, name, role, password_hash, created_ms"
_LAST_USED_PRECISION_MS = 60_000
_TOKEN_COLS = "token_id, token_hash, user_id, name, created_ms, expires_ms, last_used_ms"


class SQLiteAccounts(SQLiteDatabase):
    """Accounts, sessions, tokens, audit log and annotations in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(
            path,
            pragmas=(),
            migrate=lambda conn: migrate(
                conn, package=MIGRATIONS, table="api_schema_version", error=AccountError
            ),
            error=AccountError,
            what="account store",
        )

    # --- users -----------------------------------------------------------------------------------

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

    # --- sessions --------------------------------------------------------------------------------

    def add_session(self, session: SessionRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO api_sessions VALUES (?, ?, ?, ?, ?)",
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
            " WHERE token_hash = ? AND expires_ms > ?",
            (token_hash, now_ms),
        )
        return SessionRecord(*got[0]) if got else None

    def delete_session(self, token_hash: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM api_sessions WHERE token_hash = ?", (token_hash,))

    # --- API tokens ------------------------------------------------------------------------------

    def add_api_token(
        self, token_hash: str, user_id: int, name: str, now_ms: int, expires_ms: int
    ) -> ApiTokenRecord:
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO api_tokens (token_hash, user_id, name, created_ms, expires_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_hash, user_id, name, now_ms, expires_ms),
            )
        return ApiTokenRecord(
            int(cur.lastrowid or 0), token_hash, user_id, name, now_ms, expires_ms
        )

    def get_api_token(self, token_hash: str, now_ms: int) -> ApiTokenRecord | None:
        got = self._query(
            f"SELECT {_TOKEN_COLS} FROM api_tokens WHERE token_hash = ?"
            " AND (expires_ms = 0 OR expires_ms > ?)",
            (token_hash, now_ms),
        )
        if not got:
            return None
        record = ApiTokenRecord(*got[0])
        # A durable write per request would cost an fsync each; a minute's precision is plenty.
        if now_ms - record.last_used_ms >= _LAST_USED_PRECISION_MS:
            with self._tx() as conn:
                conn.execute(
                    "UPDATE api_tokens SET last_used_ms = ? WHERE token_id = ?",
                    (now_ms, record.token_id),
                )
            record = replace(record, last_used_ms=now_ms)
        return record

    def list_api_tokens(self, user_id: int | None = None) -> list[ApiTokenRecord]:
        sql = f"SELECT {_TOKEN_COLS} FROM api_tokens"
        params: tuple[Any, ...] = ()
        if user_id is not None:
            sql += " WHERE user_id = ?"
            params = (user_id,)
        return [ApiTokenRecord(*r) for r in self._query(sql + " ORDER BY token_id", params)]

    def revoke_api_token(self, token_id: int, user_id: int | None = None) -> bool:
        sql, params = "DELETE FROM api_tokens WHERE token_id = ?", [token_id]
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        with self._tx() as conn:
            return conn.execute(sql, params).rowcount > 0

    # --- login throttling ------------------------------------------------------------------------

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

    # --- alert annotations -----------------------------------------------------------------------

    def assign_alert(self, alert_id: int, assignee: str, now_ms: int) -> None:
        with self._tx() as conn:
            if not assignee:
                conn.execute("DELETE FROM api_alert_assignments WHERE alert_id = ?", (alert_id,))
                return
            conn.execute(
                "INSERT INTO api_alert_assignments VALUES (?, ?, ?) ON CONFLICT (alert_id)"
                " DO UPDATE SET assignee = excluded.assignee, updated_ms = excluded.updated_ms",
                (alert_id, assignee, now_ms),
            )

    def assignees(self, alert_ids: Sequence[int]) -> dict[int, str]:
        if not alert_ids:
            return {}
        marks = ", ".join("?" for _ in alert_ids)
        got = self._query(
            f"SELECT alert_id, assignee FROM api_alert_assignments WHERE alert_id IN ({marks})",
            list(alert_ids),
        )
        return {int(a): str(b) for a, b in got}

    def add_comment(self, alert_id: int, author: str, text: str, now_ms: int) -> CommentRecord:
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO api_alert_comments (alert_id, author, text, time_ms)"
                " VALUES (?, ?, ?, ?)",
                (alert_id, author, text, now_ms),
            )
        return CommentRecord(int(cur.lastrowid or 0), alert_id, author, text, now_ms)

    def list_comments(self, alert_id: int) -> list[CommentRecord]:
        got = self._query(
            "SELECT comment_id, alert_id, author, text, time_ms FROM api_alert_comments"
            " WHERE alert_id = ? ORDER BY comment_id",
            (alert_id,),
        )
        return [CommentRecord(*r) for r in got]

    # --- rules -----------------------------------------------------------------------------------

    def set_rule_disabled(self, rule_id: str, disabled: bool, by: str, now_ms: int) -> None:
        with self._tx() as conn:
            if disabled:
                conn.execute(
                    "INSERT OR REPLACE INTO api_disabled_rules VALUES (?, ?, ?)",
                    (rule_id, by, now_ms),
                )
            else:
                conn.execute("DELETE FROM api_disabled_rules WHERE rule_id = ?", (rule_id,))

    def disabled_rules(self) -> set[str]:
        return {r[0] for r in self._query("SELECT rule_id FROM api_disabled_rules")}

    # --- audit log -------------------------------------------------------------------------------

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
