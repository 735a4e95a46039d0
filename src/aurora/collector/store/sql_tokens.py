"""The enrolment-tokens area's SQL that both backends run as written: adding and listing tokens.
Taking a use stays per backend (one locked transaction on SQLite, a conditional UPDATE on
PostgreSQL, where enrolments race from several nodes)."""

from __future__ import annotations

from aurora.collector.store.base import TokenRecord
from aurora.collector.store.sql_dialect import SQLDatabase, rows, sql

TOKEN_COLUMNS = "token_hash, created_ms, expires_ms, uses_allowed, uses, note"


class SQLTokens:
    """:class:`~aurora.collector.store.base.TokenStore` but ``consume_token``, mixed into a
    backend's tokens area."""

    def add_token(self: SQLDatabase, token: TokenRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                sql(self, f"INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"),
                (
                    token.token_hash,
                    token.created_ms,
                    token.expires_ms,
                    token.uses_allowed,
                    token.uses,
                    token.note,
                ),
            )

    def list_tokens(self: SQLDatabase) -> list[TokenRecord]:
        return [
            TokenRecord(*r)
            for r in rows(self, f"SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_ms")
        ]
