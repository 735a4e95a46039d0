"""The host page, state-aware actions, the dashboard and CSV links in a real browser (Debian's
chromium via Playwright) over the real HTTPS server and a SQLite store seeded through ingest.
A screenshot of the page at a failing step is saved in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.apienv import Env, make_env
from api.dashseed import FAILED_REASON, seed_fleet
from aurora.api.auth import now_ms
from aurora.api.dashboard import build_dashboard
from e2e.browser import logged_in_page, need_chromium

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    need_chromium()
    env = make_env(tmp_path_factory.mktemp("dashboard"))
    seed_fleet(env.store)
    yield env
    env.close()


@pytest.fixture
def page(site: Env) -> Iterator[Any]:
    with logged_in_page(site.server.url, "analyst", "console-dashboard") as tab:
        yield tab


def test_host_page_says_why_and_offers_one_action(site: Env, page: Any) -> None:
    from playwright.sync_api import expect

    url = site.server.url
    page.goto(f"{url}/hosts/db-1")
    expect(page.locator("#health-reasons")).to_contain_text(f"file not loaded: {FAILED_REASON}")
    expect(page.locator("#health-reasons")).to_contain_text("spool 90% full")
    expect(page.locator("#caps tr.cap-failed")).to_contain_text("not loaded")
    expect(page.locator("#act-isolate")).to_be_visible()
    expect(page.locator("#act-unisolate")).to_be_hidden()
    page.goto(f"{url}/hosts/iso-1")
    expect(page.locator("#act-unisolate")).to_be_visible()
    expect(page.locator("#act-isolate")).to_be_hidden()
    page.goto(f"{url}/hosts/gone-1")
    expect(page.locator("#host-title")).to_have_text("gone-1")
    expect(page.locator("#act-isolate")).to_be_hidden()
    expect(page.locator("#act-unisolate")).to_be_hidden()
    page.goto(f"{url}/hosts")
    expect(page.locator('tr[data-sensor-id="s-iso"] [data-act]')).to_have_count(2)
    expect(page.locator('tr[data-sensor-id="s-iso"] [data-act=unisolate]')).to_have_count(1)
    expect(page.locator('tr[data-sensor-id="s-gone"] [data-act]')).to_have_count(1)  # triage


def test_isolating_a_host_swaps_the_button(site: Env, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{site.server.url}/hosts/off-1")
    page.on("dialog", lambda d: d.accept())
    page.click("#act-isolate")
    expect(page.locator("#fact-isolation")).to_have_text("isolating")
    expect(page.locator("#act-unisolate")).to_be_visible()
    expect(page.locator("#act-isolate")).to_be_hidden()


def test_dashboard_counts_equal_the_store(site: Env, page: Any) -> None:
    from playwright.sync_api import expect

    dash = build_dashboard(site.store, now_ms())
    page.click("nav >> text=Dashboard")
    page.wait_for_url(site.server.url + "/dashboard")
    expect(page.locator("#open-new")).to_have_text(str(dash["open_alerts"]["new"]))
    for key in ("online", "offline", "isolated"):
        expect(page.locator(f"#hosts-{key}")).to_have_text(str(dash["hosts"][key]))
    for name, n in dash["alerts_by_severity"].items():
        expect(page.locator(f'#dash-severity tr[data-severity="{name}"] .count')).to_have_text(
            str(n)
        )
    expect(page.locator('#dash-rules tr[data-rule="rule-curl"] .count')).to_have_text("2")
    expect(page.locator('#dash-techniques tr[data-uid="T1105"] .count')).to_have_text("2")
    expect(page.locator('#dash-tactics tr[data-uid="TA0002"] .count')).to_have_text("2")
    expect(page.locator("#alerts-chart rect")).to_have_count(4)


def test_export_links_download_csv(site: Env, page: Any) -> None:
    url = site.server.url
    page.goto(f"{url}/alerts")
    page.wait_for_selector("#alerts-table tbody tr")
    href = page.get_attribute("#alerts-export", "href")
    assert href is not None and "format=csv" in href
    # Fetched with the page's own session cookie, as clicking the link does.
    response = page.request.get(url + href)
    assert response.status == 200 and "attachment" in response.headers["content-disposition"]
    text = response.text()
    lines = text.strip().splitlines()
    # The link carries the page's filters: the file holds exactly the rows on screen.
    assert lines[0].startswith("alert_id,")
    assert len(lines) - 1 == page.locator("#alerts-table tbody tr").count() > 0
    page.goto(f"{url}/hosts")
    page.wait_for_selector('#hosts-table tr[data-sensor-id="s-db"]')
    href = page.get_attribute("#hosts-export", "href")
    assert href == "/api/v1/hosts?format=csv"
