"""Drops over time in a real browser: the dashboard's per-host table and the host page's hourly
bars, over losses stored through ingest (see tests/api/test_drops_over_time.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.apienv import Env, make_env
from api.test_drops_over_time import seed_losses
from e2e.browser import logged_in_page, need_chromium

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    need_chromium()
    env = make_env(tmp_path_factory.mktemp("drops"))
    seed_losses(env.store)
    yield env
    env.close()


def test_dashboard_and_host_page_show_losses_over_time(site: Env) -> None:
    from playwright.sync_api import expect

    with logged_in_page(site.server.url, "viewer", "console-drops") as page:
        page.click("nav >> text=Dashboard")
        rows = page.locator("#dash-drops tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first.locator(".count")).to_have_text("12")
        expect(rows.first.locator("svg.hourly rect")).to_have_count(2)
        rows.first.locator("a").click()
        page.wait_for_url(f"{site.server.url}/hosts/s-lossy")
        expect(page.locator("#drops-total")).to_contain_text("12 lost: kernel 5, spool evicted 7")
        expect(page.locator("#drops-over-time svg.hourly rect")).to_have_count(2)
