"""Login brute force against the real HTTPS server: failures are limited per account and per
source address, X-Forwarded-For moves no one to a fresh budget unless the request comes from a
configured trusted proxy, and parallel guesses cannot outrun the limit."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from api.apienv import PASSWORD, Env, make_env
from aurora.config import AuroraConfig
from aurora.config.loader import load_config
from aurora.errors import ConfigError

LIMIT = 3


def _env(tmp_path: Path, **api: object) -> Env:
    config = AuroraConfig.model_validate(
        {"api": {"login_max_failures": LIMIT, "login_window_s": 60} | api}
    )
    return make_env(tmp_path, config)


@pytest.fixture
def throttled(tmp_path: Path) -> Iterator[Env]:
    e = _env(tmp_path)
    yield e
    e.close()


def _login(env: Env, name: str, password: str = "wrong", forwarded: str = "") -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    c = env.client()
    return c.post(
        "/api/v1/login", json={"name": name, "password": password}, headers=headers
    ).status_code


def test_one_address_guessing_many_accounts_is_throttled(throttled: Env) -> None:
    codes = [_login(throttled, f"user{i}") for i in range(LIMIT + 2)]
    assert codes[:LIMIT] == [401] * LIMIT
    assert codes[LIMIT:] == [429, 429]


def test_forwarded_for_does_not_buy_a_fresh_budget(throttled: Env) -> None:
    codes = [_login(throttled, f"user{i}", forwarded=f"203.0.113.{i}") for i in range(LIMIT + 2)]
    assert codes[LIMIT:] == [429, 429], f"X-Forwarded-For bypassed the limit: {codes}"
    audit = throttled.client("admin").get("/api/v1/audit", params={"action": "login"}).json()
    clients = {a["detail"].get("client") for a in audit["items"]}
    assert clients == {"127.0.0.1"}, "a spoofed address reached the audit log"


def test_a_trusted_proxy_forwards_the_client_address(tmp_path: Path) -> None:
    e = _env(tmp_path, trusted_proxies=["127.0.0.1"])
    try:
        # Behind the proxy each client has its own budget, and one client is still limited.
        for i in range(LIMIT + 2):
            assert _login(e, f"user{i}", forwarded=f"203.0.113.{i}") == 401
        codes = [_login(e, f"other{i}", forwarded="198.51.100.7") for i in range(LIMIT + 1)]
        assert codes[-1] == 429
        audit = e.client("admin").get("/api/v1/audit", params={"action": "login"}).json()
        assert "198.51.100.7" in {a["detail"].get("client") for a in audit["items"]}
    finally:
        e.close()


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    with pytest.raises(ConfigError, match="trusted_proxies"):
        load_config(None, env={"AURORA__API__TRUSTED_PROXIES": '["not an address"]'})


def test_parallel_guesses_cannot_outrun_the_limit(throttled: Env) -> None:
    with ThreadPoolExecutor(24) as pool:
        codes = list(pool.map(lambda _: _login(throttled, "admin"), range(24)))
    assert codes.count(401) <= LIMIT, f"{codes.count(401)} guesses were checked, limit {LIMIT}"
    assert codes.count(429) >= 24 - LIMIT
    assert _login(throttled, "admin", PASSWORD) == 429


def test_a_good_login_does_not_reset_the_address_budget(throttled: Env) -> None:
    for i in range(LIMIT - 1):
        assert _login(throttled, f"user{i}") == 401
    assert _login(throttled, "viewer", PASSWORD) == 200
    assert _login(throttled, "nobody") == 401
    assert _login(throttled, "nobody2") == 429
