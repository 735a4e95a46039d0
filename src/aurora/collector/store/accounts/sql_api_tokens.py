"""API tokens (the ``api_tokens`` table) in SQL that both backends run as written, placeholders
and the larger-of-two function apart (:mod:`aurora.collector.store.sql_dialect`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aurora.collector.store.accounts.base import ApiTokenRecord
from aurora.collector.store.sql_dialect import SQLDatabase, rows, sql

_LAST_USED_PRECISION_MS = 60_000
_TOKEN_COLS = "token_id, token_hash, user_id, name, created_ms, expires_ms, last_used_ms"


class SQLApiTokens:
    """:class:`~.base.ApiTokenStore`, mixed into a backend's account store."""

    def add_api_token(
        self: SQLDatabase, token_hash: str, user_id: int, name: str, now_ms: int, expires_ms: int
    ) -> ApiTokenRecord:
        with self._tx() as conn:
            token_id = self._insert_id(
                conn,
                sql(
                    self,
                    "INSERT INTO api_tokens (token_hash, user_id, name, created_ms, expires_ms)"
                    " VALUES (?, ?, ?, ?, ?)",
                ),
                (token_hash, user_id, name, now_ms, expires_ms),
                "token_id",
            )
        return ApiTokenRecord(token_id, token_hash, user_id, name, now_ms, expires_ms)

    def get_api_token(self: SQLDatabase, token_hash: str, now_ms: int) -> ApiTokenRecord | None:
        got = rows(
            self,
            f"SELECT {_TOKEN_COLS} FROM api_tokens WHERE token_hash = ?"
            " AND (expires_ms = 0 OR expires_ms > ?)",
            (token_hash, now_ms),
        )
        if not got:
            return None
        record = ApiTokenRecord(*got[0])
        # A durable write per request would cost a commit each; a minute's precision is plenty.
        if now_ms - record.last_used_ms >= _LAST_USED_PRECISION_MS:
            with self._tx() as conn:
                conn.execute(
                    sql(
                        self,
                        f"UPDATE api_tokens SET last_used_ms = {self.GREATEST}(last_used_ms, ?)"
                        " WHERE token_id = ?",
                    ),
                    (now_ms, record.token_id),
                )
            record = replace(record, last_used_ms=now_ms)
        return record

    def list_api_tokens(self: SQLDatabase, user_id: int | None = None) -> list[ApiTokenRecord]:
        text = f"SELECT {_TOKEN_COLS} FROM api_tokens"
        params: tuple[Any, ...] = ()
        if user_id is not None:
            text += " WHERE user_id = ?"
            params = (user_id,)
        return [ApiTokenRecord(*r) for r in rows(self, text + " ORDER BY token_id", params)]

    def revoke_api_token(self: SQLDatabase, token_id: int, user_id: int | None = None) -> bool:
        text, params = "DELETE FROM api_tokens WHERE token_id = ?", [token_id]
        if user_id is not None:
            text += " AND user_id = ?"
            params.append(user_id)
        with self._tx() as conn:
            return bool(conn.execute(sql(self, text), params).rowcount > 0)
