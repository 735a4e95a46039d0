"""The console's hook-health section: a heartbeat's report, as the collector keeps it, is served by
the host API and drawn on the host page in a real browser (Chromium via Playwright)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.apienv import PASSWORD, Env, make_env
from aurora.collector.store.base import HostRecord
from aurora.collector.stream_service import heartbeat_status
from aurora.v1 import stream_pb2

CHROMIUM = "/usr/bin/chromium"
SENSOR = "s-guarded"


def _heartbeat(now_ms: int) -> stream_pb2.Heartbeat:
    hb = stream_pb2.Heartbeat(sensor_id=SENSOR, health=stream_pb2.HEALTH_OK)
    h = hb.hook_health
    h.checked_at_unix_ms = now_ms
    h.last_good_unix_ms = now_ms - 60_000
    h.hooks.add(name="process/handle_exec", state="ok", since_unix_ms=now_ms - 120_000)
    h.hooks.add(
        name="file/enter_openat",
        state="detached",
        detail="link is gone (descriptor 31: Bad file descriptor)",
        since_unix_ms=now_ms - 30_000,
    )
    h.families.add(
        name="canary/file",
        state="blind",
        detail="marker sent 31 s ago has not come back through the sensor",
        since_unix_ms=now_ms - 31_000,
    )
    h.previous_run = "killed by SIGKILL from pid 4242 (kill)"
    hb.capabilities.add(name="process", loaded=True)
    return hb


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(tmp_path)
    now = int(time.time() * 1000)
    e.store.register_host(
        HostRecord(sensor_id=SENSOR, hostname="guarded-1", enrolled_ms=now, last_seen_ms=now)
    )
    e.store.update_host_status(heartbeat_status(SENSOR, _heartbeat(now)))
    yield e
    e.close()


def test_the_host_api_serves_the_report_and_explains_the_bad_hooks(env: Env) -> None:
    h = env.client("viewer").get("/api/v1/hosts/guarded-1").json()
    report = h["hook_health"]
    assert [r["name"] for r in report["hooks"]] == ["process/handle_exec", "file/enter_openat"]
    assert report["families"][0]["state"] == "blind"
    assert report["previous_run"].startswith("killed by SIGKILL")
    assert report["last_good_ms"] < report["checked_ms"]
    # Shown in its own section, not as a capability that "did not load".
    assert [c["name"] for c in h["capabilities"]] == ["process"]
    assert h["failed_capabilities"] == []
    assert any(r.startswith("file/enter_openat detached") for r in h["health_reasons"])
    assert any(r.startswith("canary/file blind") for r in h["health_reasons"])


def test_a_host_without_a_report_has_none(tmp_path: Path) -> None:
    e = make_env(tmp_path)
    try:
        e.store.register_host(HostRecord(sensor_id="s-old", hostname="old-1"))
        assert e.client("viewer").get("/api/v1/hosts/old-1").json()["hook_health"] is None
    finally:
        e.close()


@pytest.mark.browser
def test_the_host_page_draws_each_hook_and_the_last_good_check(env: Env) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            page.set_default_timeout(15_000)
            errors: list[Any] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(env.server.url + "/login")
            page.fill("#login-name", "viewer")
            page.fill("#login-password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_url(env.server.url + "/alerts")
            page.goto(env.server.url + "/hosts/guarded-1")
            page.wait_for_selector("#hooks tbody tr")
            rows = page.locator("#hooks tbody tr").all_inner_texts()
            assert any("file/enter_openat" in r and "detached" in r for r in rows)
            assert any("canary/file" in r and "blind" in r for r in rows)
            checked = page.inner_text("#hook-checked")
            assert "last good check" in checked and "never" not in checked
            assert "killed by SIGKILL" in checked
            assert page.locator("#hooks tr.cap-failed").count() == 2
            assert errors == []
        finally:
            browser.close()
