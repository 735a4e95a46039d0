"""Staging a rollout from the console's Updates page in a real browser (Debian's chromium via
Playwright) over the real HTTPS server, and the refusal shown when the file is no package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.apienv import PASSWORD, Env, make_env, seed

from .packages import later, signed_package

pytestmark = [pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Env]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    env = make_env(tmp_path)
    seed(env)
    yield env
    env.close()


def login(pw: Any, site: Env, role: str) -> tuple[Any, Any, list[str]]:
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    tab = browser.new_context(ignore_https_errors=True).new_page()
    tab.set_default_timeout(15_000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(site.server.url + "/login")
    tab.fill("#login-name", role)
    tab.fill("#login-password", PASSWORD)
    tab.click("#login-submit")
    tab.wait_for_url(site.server.url + "/alerts")
    return browser, tab, errors


def test_an_admin_stages_a_rollout_from_the_console(
    site: Env, tmp_path: Path, good_wheel: Path, release_key: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    package = signed_package(good_wheel, release_key, tmp_path / "good.pkg")
    junk = tmp_path / "junk.pkg"
    junk.write_bytes(b"not a package at all" * 20)
    with sync_playwright() as pw:
        browser, tab, errors = login(pw, site, "admin")
        try:
            tab.goto(site.server.url + "/updates")
            expect(tab.locator("#no-rollouts")).to_be_visible()
            tab.set_input_files("#rollout-package", str(junk))
            tab.fill("#rollout-hosts", "web-1")
            tab.click("#rollout-submit")
            expect(tab.locator("#rollout-error")).to_contain_text(
                "the uploaded package: not a complete package"
            )
            tab.set_input_files("#rollout-package", str(package))
            tab.click("#rollout-submit")
            expect(tab.locator("section.rollout h2")).to_contain_text(later(1))
            expect(tab.locator("section.rollout td.outcome")).to_have_text("queued")
            assert errors == [], errors
        finally:
            browser.close()
        browser, tab, errors = login(pw, site, "viewer")
        try:
            tab.goto(site.server.url + "/updates")
            expect(tab.locator("section.rollout h2")).to_contain_text(later(1))
            expect(tab.locator("#rollout-form")).to_be_hidden()
            assert errors == [], errors
        finally:
            browser.close()
    assert len(site.store.list_rollouts()) == 1
