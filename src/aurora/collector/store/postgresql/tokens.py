"""The tokens area over PostgreSQL: the ``tokens`` table of enrolment token hashes."""

from __future__ import annotations

from aurora.collector.store.base import TokenRecord, TokenRejected
from aurora.collector.store.postgresql.database import PostgresDatabase

_COLUMNS = "token_hash, created_ms, expires_ms, uses_allowed, uses, note"


class PostgresTokens(PostgresDatabase):
    """:class:`~aurora.collector.store.base.TokenStore` over the store's pool."""

    def add_token(self, token: TokenRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                f"INSERT INTO tokens ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
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
        # One conditional UPDATE takes a use: enrolments on any node cannot overspend a token.
        with self._tx() as conn:
            row = conn.execute(
                f"UPDATE tokens SET uses = uses + 1 WHERE token_hash = %s AND expires_ms > %s"
                f" AND uses < uses_allowed RETURNING {_COLUMNS}",
                (token_hash, now_ms),
            ).fetchone()
            if row is not None:
                return TokenRecord(*row)
            # Refused: say why, from the row as it is now.
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM tokens WHERE token_hash = %s", (token_hash,)
            ).fetchone()
        if row is None:
            raise TokenRejected("unknown token")
        token = TokenRecord(*row)
        if now_ms >= token.expires_ms:
            raise TokenRejected("token expired")
        raise TokenRejected(f"token already used {token.uses} of {token.uses_allowed} times")

    def list_tokens(self) -> list[TokenRecord]:
        return [
            TokenRecord(*r)
            for r in self._query(f"SELECT {_COLUMNS} FROM tokens ORDER BY created_ms")
        ]
