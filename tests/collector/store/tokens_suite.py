"""The tokens area contract: enrolment tokens expire and count their uses."""

from __future__ import annotations

import threading

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

    def test_racing_enrolments_never_overspend_a_token(self, store: TokenStore) -> None:
        store.add_token(TokenRecord("h1", created_ms=0, expires_ms=10**6, uses_allowed=5))
        barrier = threading.Barrier(20)
        outcomes: list[str] = []

        def enrol() -> None:
            barrier.wait()
            try:
                store.consume_token("h1", 1)
                outcomes.append("ok")
            except TokenRejected:
                outcomes.append("rejected")

        threads = [threading.Thread(target=enrol) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["ok"] * 5 + ["rejected"] * 15
        assert [t.uses for t in store.list_tokens()] == [5]
