"""The API-token area over PostgreSQL: the ``api_tokens`` table."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aurora.collector.store.accounts.base import ApiTokenRecord
from aurora.collector.store.postgresql.database import PostgresDatabase

_LAST_USED_PRECISION_MS = 60_000
_TOKEN_COLS = "token_id, token_hash, user_id, name, created_ms, expires_ms, last_used_ms"


class PostgresApiTokens(PostgresDatabase):
    """:class:`~..base.ApiTokenStore` over the shared pool."""

    def add_api_token(
        self, token_hash: str, user_id: int, name: str, now_ms: int, expires_ms: int
    ) -> ApiTokenRecord:
        with self._tx() as conn:
            row = conn.execute(
                "INSERT INTO api_tokens (token_hash, user_id, name, created_ms, expires_ms)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING token_id",
                (token_hash, user_id, name, now_ms, expires_ms),
            ).fetchone()
        return ApiTokenRecord(
            int(row[0]) if row else 0, token_hash, user_id, name, now_ms, expires_ms
        )

    def get_api_token(self, token_hash: str, now_ms: int) -> ApiTokenRecord | None:
        got = self._query(
            f"SELECT {_TOKEN_COLS} FROM api_tokens WHERE token_hash = %s"
            " AND (expires_ms = 0 OR expires_ms > %s)",
            (token_hash, now_ms),
        )
        if not got:
            return None
        record = ApiTokenRecord(*got[0])
        # A durable write per request would cost a commit each; a minute's precision is plenty.
        if now_ms - record.last_used_ms >= _LAST_USED_PRECISION_MS:
            with self._tx() as conn:
                conn.execute(
                    "UPDATE api_tokens SET last_used_ms = GREATEST(last_used_ms, %s)"
                    " WHERE token_id = %s",
                    (now_ms, record.token_id),
                )
            record = replace(record, last_used_ms=now_ms)
        return record

    def list_api_tokens(self, user_id: int | None = None) -> list[ApiTokenRecord]:
        sql = f"SELECT {_TOKEN_COLS} FROM api_tokens"
        params: tuple[Any, ...] = ()
        if user_id is not None:
            sql += " WHERE user_id = %s"
            params = (user_id,)
        return [ApiTokenRecord(*r) for r in self._query(sql + " ORDER BY token_id", params)]

    def revoke_api_token(self, token_id: int, user_id: int | None = None) -> bool:
        sql, params = "DELETE FROM api_tokens WHERE token_id = %s", [token_id]
        if user_id is not None:
            sql += " AND user_id = %s"
            params.append(user_id)
        with self._tx() as conn:
            return conn.execute(sql, params).rowcount > 0
