"""Drops over time: what sensors reported losing, per host and hour, on the dashboard (JSON and
page) and on the host page, from batches stored through ingest like the collector stores them."""

from __future__ import annotations

import time
from typing import Any

from api.apienv import Env, launch
from aurora.collector.store.base import DropDelta, HostRecord, IncomingBatch

HOUR_MS = 3_600_000


def seed_losses(store: Any) -> int:
    """lossy-1 lost 5 kernel events now and 7 spooled ones three hours ago; calm-1 lost none;
    old-1 lost 9 two days ago (outside the window)."""
    now = int(time.time() * 1000)
    for sid, name in (("s-lossy", "lossy-1"), ("s-calm", "calm-1"), ("s-old", "old-1")):
        store.register_host(HostRecord(sid, hostname=name, enrolled_ms=now, last_seen_ms=now))
    for sid, seq, received, drops in (
        ("s-lossy", 1, now - 3 * HOUR_MS, DropDelta(spool_evicted=7)),
        ("s-lossy", 2, now, DropDelta(kernel=5)),
        ("s-calm", 1, now, DropDelta()),
        ("s-old", 1, now - 48 * HOUR_MS, DropDelta(kernel=9)),
    ):
        events = [launch(100 + seq, 1, "bash", received)]
        store.ingest([IncomingBatch(sid, seq, events, received_ms=received, drops=drops)])
    return now


def test_dashboard_lists_each_losing_host_by_hour(env: Env) -> None:
    seed_losses(env.store)
    drops = env.client("viewer").get("/api/v1/dashboard").json()["drops"]
    assert [d["hostname"] for d in drops] == ["lossy-1"]
    lossy = drops[0]
    assert (lossy["total"], lossy["kernel"], lossy["spool_evicted"]) == (12, 5, 7)
    hours = [h["total"] for h in lossy["by_hour"]]
    assert len(hours) == 24 and hours[-1] == 5 and hours[-4] == 7 and sum(hours) == 12
    browser, _ = env.browser("viewer")
    page = browser.get("/dashboard").text
    assert 'id="dash-drops"' in page and 'data-sensor-id="s-lossy"' in page
    assert 'data-sensor-id="s-old"' not in page


def test_host_page_shows_its_losses_or_says_there_were_none(env: Env) -> None:
    seed_losses(env.store)
    browser, _ = env.browser("viewer")
    lossy = browser.get("/hosts/lossy-1").text
    assert "12 lost: kernel 5, spool evicted 7" in lossy and "5 lost</title>" in lossy
    assert 'id="drops-none"' in browser.get("/hosts/calm-1").text
    assert 'id="drops-none"' in browser.get("/hosts/no-such-host").text
