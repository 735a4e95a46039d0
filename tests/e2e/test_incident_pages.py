"""The incident queue and an incident page in a real browser: the queue ranks the two-rule
attack first, and its page shows the alerts, the process tree joining them and the timeline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.apienv import Env, make_env
from api.incidentseed import seed_incidents
from e2e.browser import logged_in_page, need_chromium

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, dict[str, list[int]]]]:
    need_chromium()
    env = make_env(tmp_path_factory.mktemp("incidents"))
    ids = seed_incidents(env.store, env.state_dir / "rules")
    yield env, ids
    env.close()


def test_queue_then_incident_page(site: tuple[Env, dict[str, list[int]]]) -> None:
    from playwright.sync_api import expect

    env, ids = site
    first = ids["curl"][0]
    with logged_in_page(env.server.url, "viewer", "console-incidents") as page:
        page.click("nav >> text=Dashboard")
        expect(page.locator("#incidents-open")).to_have_text("3")
        page.click("nav >> text=Incidents")
        page.wait_for_url(env.server.url + "/incidents")
        rows = page.locator("#incidents-table tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.first).to_have_attribute("data-incident", str(first))
        expect(rows.first).to_contain_text("Test shadow (+1 more rule)")
        rows.first.locator("a").first.click()
        page.wait_for_url(f"{env.server.url}/incidents/{first}")
        expect(page.locator("#incident-score")).to_have_text("72")
        expect(page.locator("#incident-alerts tbody tr")).to_have_count(2)
        tree = page.locator("#incident-tree li")
        expect(tree).to_have_count(5)
        expect(page.locator("#incident-tree li.hit")).to_have_count(2)
        expect(page.locator("#incident-timeline tbody tr").last).to_contain_text("cat /etc/shadow")
        expect(page.locator("#incident-techniques a")).to_have_count(2)
        expect(page.locator("nav a.active")).to_have_text("Incidents")
        page.locator("#incident-alerts a").first.click()
        page.wait_for_url(f"{env.server.url}/alerts/{first}")
