"""Who is calling: password hashing, browser sessions with CSRF, API tokens, login throttling.

Browsers get an opaque session cookie (Secure, HttpOnly, SameSite=Strict) plus a per-session CSRF
token that every state-changing request must echo in ``X-CSRF-Token``; scripts send
``Authorization: Bearer <token>`` and need no CSRF token because browsers never attach it by
themselves. Only SHA-256 hashes of the random secrets reach the database, so a copy of aurora.db
does not let anyone log in. Passwords are hashed with argon2id (argon2-cffi).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from aurora.collector.store.accounts import AccountStore, SessionRecord, UserRecord
from aurora.errors import AuroraError

SESSION_COOKIE = "aurora_session"
CSRF_HEADER = "X-CSRF-Token"
TOKEN_PREFIX = "aur_"
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing of "no such user" and
# "wrong password" alike, so the login form does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("aurora-dummy-password")


class WeakPassword(AuroraError):
    def __init__(self) -> None:
        super().__init__(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")


class LoginThrottled(AuroraError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


def now_ms() -> int:
    return int(time.time() * 1000)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword()
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``session`` is set for cookie logins (CSRF applies)."""

    user: UserRecord
    via: str  # "session" or "token"
    session: SessionRecord | None = None

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def role(self) -> str:
        return self.user.role


class Authenticator:
    """Session, token and login logic over an :class:`AccountStore`."""

    def __init__(
        self,
        accounts: AccountStore,
        *,
        session_ttl_s: int,
        max_failures: int,
        window_s: int,
    ) -> None:
        self.accounts = accounts
        self.session_ttl_ms = session_ttl_s * 1000
        self.max_failures = max_failures
        self.window_ms = window_s * 1000
        # Attempts being checked right now count against the limit as if they had failed, so
        # guesses sent in parallel cannot all pass the check before the first failure lands.
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()

    # --- login -----------------------------------------------------------------------------------

    @contextmanager
    def _attempt(self, keys: tuple[str, ...]) -> Iterator[None]:
        """Admit one login attempt against ``keys``' budgets or raise :class:`LoginThrottled`."""
        with self._lock:
            since = now_ms() - self.window_ms
            for k in keys:
                if self.accounts.login_failures(k, since) + self._in_flight[k] >= self.max_failures:
                    raise LoginThrottled(self.window_ms // 1000)
            self._in_flight.update(keys)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight.subtract(keys)
                self._in_flight += Counter()  # drops the keys that reached zero

    def login(self, name: str, password: str, client: str) -> tuple[str, SessionRecord] | None:
        """Return (cookie value, session) or None for bad credentials.

        Failures are counted per user name and per client address; past the limit within the
        window every attempt is refused, right or wrong, so guessing gains nothing.
        """
        keys = (f"user:{name.lower()}", f"addr:{client}")
        with self._attempt(keys):
            user = self.accounts.get_user(name)
            ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
            now = now_ms()
            if not ok or user is None:
                for k in keys:
                    self.accounts.record_login_failure(k, now)
                return None
        self.accounts.clear_login_failures(keys[0])
        token = secrets.token_urlsafe(32)
        session = SessionRecord(
            token_hash=hash_secret(token),
            user_id=user.user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_ms=now,
            expires_ms=now + self.session_ttl_ms,
        )
        self.accounts.add_session(session)
        return token, session

    def logout(self, session: SessionRecord) -> None:
        self.accounts.delete_session(session.token_hash)

    # --- per-request -----------------------------------------------------------------------------

    def from_cookie(self, cookie: str) -> Principal | None:
        session = self.accounts.get_session(hash_secret(cookie), now_ms())
        if session is None:
            return None
        user = self.accounts.get_user_by_id(session.user_id)
        return Principal(user, "session", session) if user else None

    def from_token(self, token: str) -> Principal | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        record = self.accounts.get_api_token(hash_secret(token), now_ms())
        if record is None:
            return None
        user = self.accounts.get_user_by_id(record.user_id)
        return Principal(user, "token") if user else None

    @staticmethod
    def csrf_ok(principal: Principal, header: str | None) -> bool:
        if principal.session is None:
            return True
        return header is not None and hmac.compare_digest(header, principal.session.csrf_token)
