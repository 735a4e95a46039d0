"""Every console page in a real browser (chromium via Playwright) over the real HTTPS server and a
real SQLite state: pages fill from the API without script errors, role-dependent controls show
only to those allowed, rule upload shows validation errors, and the login form refuses bad
passwords and off-site redirects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.apienv import PASSWORD, SENSOR, Env, make_env, seed
from e2e.browser import fresh_page, logged_in_page, need_chromium

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, dict[str, Any]]]:
    need_chromium()
    env = make_env(tmp_path_factory.mktemp("pages"))
    data = seed(env)
    yield env, data
    env.close()


def test_admin_sees_every_page_filled(site: tuple[Env, dict[str, Any]]) -> None:
    from playwright.sync_api import expect

    env, data = site
    url = env.server.url
    with logged_in_page(url, "admin", "console-pages-admin") as page:
        expect(page.locator("#alerts-table tbody tr")).to_have_count(1)
        page.goto(f"{url}/alerts/{data['alert_id']}")
        expect(page.locator("#process-tree .node.focus")).to_contain_text("curl")
        expect(page.locator("#process-tree .node.ancestor")).to_have_count(3)
        expect(page.locator("#timeline tbody tr")).to_have_count(2)
        page.click("[data-status=acknowledged]")
        expect(page.locator("#fact-status")).to_have_text("acknowledged")
        page.fill("#comment-form textarea", "checked <b>not bold</b>")
        page.click("#comment-form button")
        expect(page.locator("#comments li")).to_contain_text("checked <b>not bold</b>")
        page.goto(f"{url}/hosts")
        expect(page.locator(f'#hosts-table tr[data-sensor-id="{SENSOR}"]')).to_contain_text("web-1")
        page.goto(f"{url}/events")
        expect(page.locator("#events-table tbody tr")).to_have_count(6)
        page.fill("#event-filters [name=q]", "evil.example")
        page.click("#event-filters button")
        expect(page.locator("#events-table tbody tr")).to_have_count(2)
        page.goto(f"{url}/rules")
        expect(page.locator("#rules-total")).to_contain_text("rules match")
        page.fill("#rule-upload textarea", "title: broken\ndetection: {}\n")
        page.click("#rule-upload button")
        expect(page.locator("#rule-errors li").first).to_be_visible()
        page.goto(f"{url}/users")
        expect(page.locator("#users-table tbody tr")).to_have_count(3)
        page.fill("#user-add [name=name]", "heidi")
        page.click("#user-add button")
        expect(page.locator("#user-result")).to_contain_text("Password (shown once)")
        page.goto(f"{url}/audit")
        expect(page.locator("#audit-table tbody")).to_contain_text("user.add")


def test_viewer_sees_no_controls(site: tuple[Env, dict[str, Any]]) -> None:
    from playwright.sync_api import expect

    env, data = site
    url = env.server.url
    with logged_in_page(url, "viewer", "console-pages-viewer") as page:
        expect(page.locator("nav")).not_to_contain_text("Users")
        expect(page.locator("nav")).not_to_contain_text("Audit log")
        page.goto(f"{url}/hosts/{SENSOR}")
        expect(page.locator("#host-title")).to_have_text("web-1")
        expect(page.locator("#act-isolate")).to_be_hidden()
        page.goto(f"{url}/alerts/{data['alert_id']}")
        expect(page.locator("[data-status=resolved]")).to_be_hidden()
        response = page.goto(f"{url}/users")
        assert response is not None and response.status == 403


def test_login_refuses_bad_password_and_offsite_next(site: tuple[Env, dict[str, Any]]) -> None:
    from playwright.sync_api import expect

    env, _ = site
    with fresh_page("console-pages-login") as page:
        page.goto(env.server.url + "/login?next=//evil.example/")
        page.fill("#login-name", "analyst")
        page.fill("#login-password", "wrong password!")
        page.click("#login-submit")
        expect(page.locator("#login-error")).to_have_text("wrong user name or password")
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(env.server.url + "/alerts")
