"""A console page in a real browser (Debian's chromium via Playwright), fresh or logged in as a
role.

Any script error on the page fails the test; a screenshot of the page at a failing step is saved
in test-artifacts/<shot>.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from api.apienv import PASSWORD

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


@contextmanager
def fresh_page(shot: str, *, timeout_ms: int = 15_000) -> Iterator[Any]:
    """A tab in a new headless browser that trusts any certificate (each test's CA is its own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(ignore_https_errors=True)
        tab = context.new_page()
        tab.set_default_timeout(timeout_ms)
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            yield tab
            assert errors == [], errors
        except BaseException:
            ARTIFACTS.mkdir(exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
            raise
        finally:
            browser.close()


@contextmanager
def logged_in_page(
    base_url: str,
    role: str,
    shot: str,
    *,
    password: str = PASSWORD,
    timeout_ms: int = 15_000,
) -> Iterator[Any]:
    """:func:`fresh_page`, logged in through the login form as the user ``role``."""
    with fresh_page(shot, timeout_ms=timeout_ms) as tab:
        tab.goto(base_url + "/login")
        tab.fill("#login-name", role)
        tab.fill("#login-password", password)
        tab.click("#login-submit")
        tab.wait_for_url(base_url + "/alerts")
        yield tab
