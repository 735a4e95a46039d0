"""The tokens area over SQLite: the ``tokens`` table of enrolment token hashes."""

from __future__ import annotations

from aurora.collector.store.base import TokenRecord, TokenRejected
from aurora.collector.store.sqlite.database import SQLiteDatabase

_TOKEN_SELECT = "SELECT token_hash, created_ms, expires_ms, uses_allowed, uses, note FROM tokens"


class SQLiteTokens(SQLiteDatabase):
    """:class:`~aurora.collector.store.base.TokenStore` over the store's connection."""

    def add_token(self, token: TokenRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO tokens (token_hash, created_ms, expires_ms, uses_allowed, uses, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token.token_hash,
                    token.created_ms,
                    token.expires_ms,
                    token.uses_allowed,
                    token.uses,
                    token.note,
                ),
            )

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

    def list_tokens(self) -> list[TokenRecord]:
        return [TokenRecord(*r) for r in self._query(_TOKEN_SELECT + " ORDER BY created_ms")]
