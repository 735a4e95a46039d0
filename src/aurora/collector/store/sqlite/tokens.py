"""The tokens area over SQLite: taking a use of an enrolment token (the rest is
:mod:`aurora.collector.store.sql_tokens`)."""

from __future__ import annotations

from aurora.collector.store.base import TokenRecord, TokenRejected
from aurora.collector.store.sql_tokens import TOKEN_COLUMNS, SQLTokens
from aurora.collector.store.sqlite.database import SQLiteDatabase

_TOKEN_SELECT = f"SELECT {TOKEN_COLUMNS} FROM tokens"


class SQLiteTokens(SQLTokens, SQLiteDatabase):
    """:class:`~aurora.collector.store.base.TokenStore` over the store's connection."""

    def consume_token(self, token_hash: str, now_ms: int) -> TokenRecord:
        # The check and the count happen in one write transaction, so two enrolments cannot
        # both take a token's last use.
        with self._tx() as conn:
            row = conn.execute(_TOKEN_SELECT + " WHERE token_hash = ?", (token_hash,)).fetchone()
            if row is None:
                raise TokenRejected("unknown token")
            token = TokenRecord(*row)
            if now_ms >= token.expires_ms:
                raise TokenRejected("token expired")
            if token.uses >= token.uses_allowed:
                raise TokenRejected(
                    f"token already used {token.uses} of {token.uses_allowed} times"
                )
            conn.execute("UPDATE tokens SET uses = uses + 1 WHERE token_hash = ?", (token_hash,))
        return TokenRecord(row[0], row[1], row[2], row[3], token.uses + 1, token.note)
