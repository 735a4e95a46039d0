"""The tokens area in memory: token records by hash, checked and counted under one lock."""

from __future__ import annotations

import threading
from dataclasses import replace

from aurora.collector.store.base import TokenRecord, TokenRejected


class MemoryTokens:
    """:class:`~aurora.collector.store.base.TokenStore` in a dict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, TokenRecord] = {}

    def add_token(self, token: TokenRecord) -> None:
        with self._lock:
            if token.token_hash in self._tokens:
                raise ValueError("a token with this hash exists")
            self._tokens[token.token_hash] = token

    def consume_token(self, token_hash: str, now_ms: int) -> TokenRecord:
        # Check and count under one lock: two enrolments cannot both take the last use.
        with self._lock:
            token = self._tokens.get(token_hash)
            if token is None:
                raise TokenRejected("unknown token")
            if now_ms >= token.expires_ms:
                raise TokenRejected("token expired")
            if token.uses >= token.uses_allowed:
                raise TokenRejected(
                    f"token already used {token.uses} of {token.uses_allowed} times"
                )
            used = self._tokens[token_hash] = replace(token, uses=token.uses + 1)
        return used

    def list_tokens(self) -> list[TokenRecord]:
        with self._lock:
            return sorted(self._tokens.values(), key=lambda t: t.created_ms)
