"""The tokens area contract: enrolment tokens expire and count their uses."""

from __future__ import annotations

import pytest

from aurora.collector.store import TokenRecord, TokenRejected
from aurora.collector.store.base import TokenStore


class TokensSuite:
    def test_tokens_expire_and_count_uses(self, store: TokenStore) -> None:
        store.add_token(TokenRecord("h1", created_ms=0, expires_ms=1000, uses_allowed=2))
        assert store.consume_token("h1", 10).uses == 1
        assert store.consume_token("h1", 20).uses == 2
        with pytest.raises(TokenRejected, match="already used 2 of 2"):
            store.consume_token("h1", 30)
        store.add_token(TokenRecord("h2", created_ms=0, expires_ms=1000, uses_allowed=5))
        with pytest.raises(TokenRejected, match="expired"):
            store.consume_token("h2", 1000)
        with pytest.raises(TokenRejected, match="unknown"):
            store.consume_token("nope", 1)
