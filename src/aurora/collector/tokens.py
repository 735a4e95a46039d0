"""Enrolment tokens: random secrets handed to operators, stored only as a SHA-256 hash.

A token is ``aet_`` plus 32 random bytes in URL-safe base64: long enough that hashing it without a
salt or slow KDF is safe (no dictionary to try), which keeps the check a single indexed lookup.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from aurora.collector.store.base import Store, TokenRecord
from aurora.errors import UsageError

PREFIX = "aet_"
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def parse_duration(text: str) -> int:
    """Seconds in ``30s``, ``15m``, ``24h``, ``7d``, ``2w``; UsageError otherwise."""
    m = _DURATION.match(text.strip().lower())
    if not m or int(m.group(1)) == 0:
        raise UsageError(f"invalid duration {text!r}: use a positive number and s, m, h, d or w")
    return int(m.group(1)) * _UNIT_S[m.group(2)]


@dataclass(frozen=True)
class NewToken:
    token: str
    expires_ms: int
    uses_allowed: int


def create_token(store: Store, ttl_s: int, uses: int, note: str = "") -> NewToken:
    """Mint a token valid for ``ttl_s`` seconds and ``uses`` enrolments."""
    if uses < 1:
        raise UsageError(f"--uses must be at least 1, got {uses}")
    if ttl_s < 1:
        raise UsageError(f"--ttl must be positive, got {ttl_s}s")
    token = PREFIX + secrets.token_urlsafe(32)
    now = int(time.time() * 1000)
    expires = now + ttl_s * 1000
    store.add_token(TokenRecord(hash_token(token), now, expires, uses, 0, note))
    return NewToken(token, expires, uses)
