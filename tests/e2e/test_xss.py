"""Stored XSS, in a real browser over the real HTTPS server: markup arrives through events in the
store (command lines, file and process names, host names), a rule uploaded through the API
(title, description, tags, references), an alert, an alert comment and a login attempt (the
audit log), and every console page must show it as text without running any of it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from api.apienv import Env, launch, make_env
from aurora.collector.store.base import HostRecord, IncomingBatch, NewAlert
from e2e.browser import logged_in_page, need_chromium

pytestmark = [pytest.mark.browser]

PAYLOADS = (
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    '"><svg onload=alert(3)>',
)
RULE_ID = "5b0c8a48-1d8e-4b8c-9a3c-000000000018"
SENSOR = "sensor-xss"
HOST = 'web-"><svg onload=alert(4)>'
# Anything a payload would create if it were parsed as HTML.
INJECTED = "main img, main svg, main script, main iframe, [onerror], [onload]"


def _hostile_rule() -> str:
    # Markup in every text field a rule has; YAML single quotes keep it verbatim.
    title, description, ref = PAYLOADS
    return (
        f"title: '{title}'\n"
        f"id: {RULE_ID}\n"
        "status: experimental\n"
        f"description: '{description}'\n"
        f"references:\n  - '{ref}'\n  - 'javascript:alert(5)'\n"
        "tags:\n  - 'attack.<img src=x onerror=alert(6)>'\n"
        "level: high\n"
        "logsource: {product: linux, category: process_creation}\n"
        "detection:\n  sel: {Image|endswith: '/curl'}\n  condition: sel\n"
    )


def _seed(env: Env) -> dict[str, Any]:
    t0 = int(time.time() * 1000) - 60_000
    env.store.register_host(
        HostRecord(
            sensor_id=SENSOR,
            hostname=HOST,
            os_name=PAYLOADS[0],
            os_version=PAYLOADS[1],
            enrolled_ms=t0,
            last_seen_ms=t0,
            connected=True,
            health=PAYLOADS[2],
            isolation="none",
            capabilities=({"name": PAYLOADS[0], "state": "available", "reason": PAYLOADS[1]},),
        )
    )
    events = [launch(1, 0, PAYLOADS[0], t0), launch(100, 1, PAYLOADS[1], t0 + 1000)]
    events.append(launch(200, 100, "bash", t0 + 2000, " ".join(PAYLOADS)))
    for ev in events:
        ev["device"]["hostname"] = HOST
        ev["process"]["file"]["name"] = PAYLOADS[2]
        ev["process"]["file"]["path"] = "/tmp/" + PAYLOADS[0]
    env.store.ingest([IncomingBatch(SENSOR, 1, events, received_ms=t0 + 3000)])
    finding = {
        "class_uid": 2004,
        "severity_id": 4,
        "device": {"hostname": HOST},
        "finding_info": {"analytic": {"uid": PAYLOADS[1]}, "title": PAYLOADS[0]},
        "evidences": [{"process": {"pid": 200, "name": "bash"}, "data": events[2]}],
    }
    [alert_id] = env.store.add_alerts(
        [NewAlert(PAYLOADS[1], SENSOR, "k-xss", 4, PAYLOADS[0], t0 + 2000, finding)]
    )
    admin = env.client("admin")
    upload = admin.post("/api/v1/rules", json={"yaml": _hostile_rule()})
    assert upload.status_code in (200, 201), upload.text
    comment = admin.post(f"/api/v1/alerts/{alert_id}/comments", json={"text": PAYLOADS[2]})
    assert comment.status_code in (200, 201), comment.text
    bad = env.client().post("/api/v1/login", json={"name": PAYLOADS[0], "password": "x"})
    assert bad.status_code == 401
    return {"alert_id": alert_id}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, dict[str, Any]]]:
    need_chromium()
    env = make_env(tmp_path_factory.mktemp("xss"))
    data = _seed(env)
    yield env, data
    env.close()


def test_markup_is_shown_as_text_on_every_page(site: tuple[Env, dict[str, Any]]) -> None:
    from playwright.sync_api import expect

    env, data = site
    url = env.server.url
    dialogs: list[str] = []
    # Each page -> (a selector that is filled once the page has loaded its data, payload shown).
    pages = {
        "/alerts": ("#alerts-table tbody tr", PAYLOADS[0]),
        f"/alerts/{data['alert_id']}": ("#comments li", PAYLOADS[2]),
        "/hosts": ("#hosts-table tbody tr", HOST),
        f"/hosts/{SENSOR}": ("#host-title", HOST),
        "/events": ("#events-table tbody tr", PAYLOADS[1]),
        "/rules": ("#rules-table tbody tr", PAYLOADS[0]),
        f"/rules/{RULE_ID}": ("#rule-references li", PAYLOADS[1]),
        # Reflected: markup in the URL itself, echoed by the page and the API's 404.
        "/rules/" + quote(PAYLOADS[0], safe=""): ("#rule-title", PAYLOADS[0]),
        "/audit": ("#audit-table tbody tr", PAYLOADS[0]),
        "/users": ("#users-table tbody tr", "viewer"),
    }
    # Script errors fail the test inside logged_in_page; an alert() is a dialog.
    with logged_in_page(url, "admin", "console-xss") as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path, (filled, shown) in pages.items():
            page.goto(url + path)
            if path == "/rules":  # the built-in pack fills the first page: search for the rule
                page.fill("#rule-filters [name=q]", RULE_ID)
                page.click("#rule-filters button[type=submit]")
                expect(page.locator("#rules-total")).to_contain_text("1 rules match")
            expect(page.locator(filled).first).to_be_visible()
            page.wait_for_load_state("networkidle")
            expect(page.locator("main")).to_contain_text(shown)
            assert page.locator(INJECTED).count() == 0, f"markup became elements on {path}"
            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            assert not [h for h in hrefs if h.lower().startswith("javascript:")], path
        page.goto(f"{url}/rules/{RULE_ID}")
        expect(page.locator("#rule-references")).to_contain_text(PAYLOADS[2])
        expect(page.locator("#rule-references")).to_contain_text("javascript:alert(5)")
        expect(page.locator("#rule-facts")).to_contain_text("attack.<img src=x onerror=alert(6)>")
        page.goto(f"{url}/rules")
        page.fill("#rule-upload textarea", f"title: '{PAYLOADS[0]}'\ndetection: {{}}\n")
        page.click("#rule-upload button")
        expect(page.locator("#rule-errors li").first).to_be_visible()
        assert page.locator(INJECTED).count() == 0, "markup in an upload error became elements"
        page.goto(f"{url}/alerts/{data['alert_id']}")
        expect(page.locator("#process-tree .node.focus")).to_be_visible()
        expect(page.locator("#process-tree")).to_contain_text(PAYLOADS[1])
        page.goto(f"{url}/hosts/{SENSOR}")
        page.wait_for_load_state("networkidle")
        expect(page.locator("main")).to_contain_text(PAYLOADS[0])
    assert dialogs == [], f"script ran: {dialogs}"
