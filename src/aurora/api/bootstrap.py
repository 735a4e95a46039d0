"""First start: create the first admin with a random password, printed once by the collector."""

from __future__ import annotations

from aurora.api.auth import generate_password, hash_password, now_ms
from aurora.collector.store.accounts import AccountStore

FIRST_ADMIN = "admin"


def ensure_first_admin(accounts: AccountStore) -> str | None:
    """Create ``admin`` when no user exists; return its password that one time, else None.

    The password exists nowhere else (only its argon2 hash is stored), so the caller must show it.
    """
    if accounts.list_users():
        return None
    password = generate_password()
    accounts.add_user(FIRST_ADMIN, "admin", hash_password(password), now_ms())
    return password
