"""Alert suppression survives a restart: a collector started again on the same state folds the
repeats of an alert raised before the restart into it (by the alert's first sighting and the
product's default window) instead of raising a second one, and a batch the sensor sends again
(its ack was lost in the restart) adds nothing to any count."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client import Stream, enroll
from evil_rule import RULE, evil

from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from conftest import addr, make_config

T0 = 1_700_000_000_000


def _start(tmp_path: Path) -> Collector:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "evil.yml").write_text(RULE)
    cfg = make_config(tmp_path / "c", detection=True)
    cfg = cfg.model_copy(
        update={"detection": cfg.detection.model_copy(update={"rule_dirs": [rules]})}
    )
    assert cfg.detection.suppression_window_s == 300  # the product's default
    c = Collector(cfg)
    c.start()
    return c


def _wait(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


def _send(s: Stream, first_seq: int, events: list[dict[str, Any]]) -> Any:
    s.batch(first_seq, events)
    return s.recv_kind("ack")


def _alerts(c: Collector) -> list[tuple[str, int, int, str]]:
    """(session, first seen, count, latest evidence's command line) per alert."""
    assert c.store is not None
    return sorted(
        (
            a.finding["evidences"][0]["process"]["session"]["uid"],
            a.first_seen_ms,
            a.count,
            a.finding["evidences"][0]["process"]["cmd_line"],
        )
        for a in c.store.list_alerts()
    )


def test_a_restarted_collector_folds_repeats_into_the_alert_raised_before(
    tmp_path: Path,
) -> None:
    c = _start(tmp_path)
    try:
        assert c.store is not None and c.ca is not None
        ident = enroll(addr(c), create_token(c.store, 60, 1).token, c.ca.cert_pem)
        s = Stream(addr(c), ident)
        s.hello()
        _send(s, 1, [evil(1, "A"), evil(2, "A")])
        s.close()
        assert _alerts(c) == [("A", T0 + 1, 2, "/opt/evil --run 2")]
    finally:
        c.stop()

    c = _start(tmp_path)
    try:
        s = Stream(addr(c), ident)
        s.hello()
        # The batch stored before the restart, sent again: nothing new, nothing counted.
        again = _send(s, 1, [evil(1, "A"), evil(2, "A")])
        assert again.accepted
        _send(s, 3, [evil(3, "A"), evil(4, "B"), evil(5, "A")])
        # Past the window from tree A's alert (first seen at T0 + 1): a new alert of its own.
        _send(s, 6, [evil(6, "A", at_ms=T0 + 1 + 300_000), evil(7, "A", at_ms=T0 + 300_002)])
        s.close()
        _wait(lambda: len(_alerts(c)) == 3, "three alerts")
        assert _alerts(c) == [
            ("A", T0 + 1, 4, "/opt/evil --run 5"),
            ("A", T0 + 1 + 300_000, 2, "/opt/evil --run 7"),
            ("B", T0 + 4, 1, "/opt/evil --run 4"),
        ]
    finally:
        c.stop()
