"""The tokens area over PostgreSQL: taking a use of an enrolment token (the rest is
:mod:`aurora.collector.store.sql_tokens`)."""

from __future__ import annotations

from aurora.collector.store.base import TokenRecord, TokenRejected
from aurora.collector.store.postgresql.database import PostgresDatabase
from aurora.collector.store.sql_tokens import TOKEN_COLUMNS, SQLTokens


class PostgresTokens(SQLTokens, PostgresDatabase):
    """:class:`~aurora.collector.store.base.TokenStore` over the store's pool."""

    def consume_token(self, token_hash: str, now_ms: int) -> TokenRecord:
        # One conditional UPDATE takes a use: enrolments on any node cannot overspend a token.
        with self._tx() as conn:
            row = conn.execute(
                f"UPDATE tokens SET uses = uses + 1 WHERE token_hash = %s AND expires_ms > %s"
                f" AND uses < uses_allowed RETURNING {TOKEN_COLUMNS}",
                (token_hash, now_ms),
            ).fetchone()
            if row is not None:
                return TokenRecord(*row)
            # Refused: say why, from the row as it is now.
            row = conn.execute(
                f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_hash = %s", (token_hash,)
            ).fetchone()
        if row is None:
            raise TokenRejected("unknown token")
        token = TokenRecord(*row)
        if now_ms >= token.expires_ms:
            raise TokenRejected("token expired")
        raise TokenRejected(f"token already used {token.uses} of {token.uses_allowed} times")
