"""Issue 18, finding 2, in a real collector: a rule whose regex runs past its bound is disabled
in the batch reader process, the detection stage raises "Rule disabled: regex too slow" as a
high-severity alert, and the events behind it (and other rules' alerts) are not held up.

A sensor speaks the real protocol over mTLS (tests/collector/client.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collector"))
from client import Stream, enroll, make_event

SLOW_ID = "22222222-0000-4000-8000-000000000001"
EVIL_ID = "22222222-0000-4000-8000-000000000002"
RULES = f"""
title: Lookahead that backtracks
id: {SLOW_ID}
status: test
level: low
logsource: {{product: linux, category: process_creation}}
detection:
  sel: {{CommandLine|re: '(a|aa)+(?=b)'}}
  condition: sel
---
title: Test evil binary
id: {EVIL_ID}
status: test
level: high
logsource: {{product: linux, category: process_creation}}
detection:
  sel: {{Image|endswith: '/evil'}}
  condition: sel
"""


def hostile(seq: int) -> dict[str, object]:
    ev = make_event(seq)
    ev["process"]["cmd_line"] = "a" * 33 + "#"  # type: ignore[index]
    return ev


def evil(seq: int) -> dict[str, object]:
    ev = make_event(seq)
    ev["process"]["file"]["path"] = f"/tmp/{seq}/evil"  # type: ignore[index]
    return ev


def test_slow_rule_is_disabled_with_an_admin_alert(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rules.yml").write_text(RULES)
    config = AuroraConfig.model_validate(
        {
            "collector": {"state_dir": str(tmp_path / "c"), "listen": "127.0.0.1:0"},
            "detection": {"enabled": True, "rule_dirs": [str(rules)]},
        }
    )
    c = Collector(config)
    c.start()
    assert c.store is not None and c.ca is not None
    sensor: Stream | None = None
    try:
        token = create_token(c.store, 60, 1).token
        ident = enroll(f"localhost:{c.port}", token, c.ca.cert_pem)
        sensor = Stream(f"localhost:{c.port}", ident)
        sensor.hello()
        start = time.monotonic()
        sensor.batch(1, [hostile(1), evil(2), make_event(3)])
        assert sensor.recv_kind("ack").accepted
        sensor.batch(4, [hostile(4), evil(5)])
        assert sensor.recv_kind("ack").accepted
        took = time.monotonic() - start
        # One bounded match (0.25 s) at most, then the rule is gone: no per-event cost.
        assert took < 5, f"two batches took {took:.1f} s"
        deadline = time.monotonic() + 10
        alerts = c.store.list_alerts()
        while len(alerts) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            alerts = c.store.list_alerts()
        by_rule = {a.rule_uid: a for a in alerts}
        notice = by_rule.get("aurora-rule-disabled:" + SLOW_ID)
        assert notice is not None, [a.title for a in alerts]
        assert notice.title == "Rule disabled: regex too slow: Lookahead that backtracks"
        assert notice.severity_id == 4  # high
        assert SLOW_ID in notice.finding["finding_info"]["desc"]
        assert EVIL_ID in by_rule  # other rules still alert, on the same events
        assert SLOW_ID not in by_rule
        assert len([a for a in alerts if a.rule_uid.startswith("aurora-rule-disabled:")]) == 1
        assert c.store.count_events() == 5
    finally:
        if sensor is not None:
            sensor.close()
        c.stop()
