"""A console page in a real browser (Debian's chromium via Playwright), logged in as a role.

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
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


@contextmanager
def logged_in_page(base_url: str, role: str, shot: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(ignore_https_errors=True)
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto(base_url + "/login")
        tab.fill("#login-name", role)
        tab.fill("#login-password", PASSWORD)
        tab.click("#login-submit")
        tab.wait_for_url(base_url + "/alerts")
        try:
            yield tab
            assert errors == [], errors
        except BaseException:
            ARTIFACTS.mkdir(exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
            raise
        finally:
            browser.close()
