"""Alert suppression keys on the process tree: a second attack by another tree on the same host
raises its own alert with its own evidence; repeats inside one tree are merged, counted, and the
alert keeps the latest repeat's evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evil_rule import RULE, RULE_ID, evil

from aurora.collector.detect import DetectionStage
from aurora.collector.store import open_store
from aurora.config.detection import DetectionConfig


def run(stage: DetectionStage, store: Any, events: list[dict[str, Any]]) -> None:
    alerts = stage.evaluate("s1", [(e, (RULE_ID,)) for e in events])
    store.add_alerts(alerts)
    stage.committed(store, None)


def test_two_trees_two_alerts_one_tree_one_alert_with_latest_evidence(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "evil.yml").write_text(RULE)
    stage = DetectionStage.from_config(DetectionConfig(rule_dirs=[rules], enabled=True))
    store = open_store(tmp_path / "state")
    try:
        run(stage, store, [evil(1, "11"), evil(2, "22")])
        run(stage, store, [evil(3, "11")])
        alerts = sorted(store.list_alerts(sensor_id="s1"), key=lambda a: a.first_seen_ms)
        assert len(alerts) == 2, "the second session's attack was merged into the first's alert"
        first, second = alerts
        assert (first.count, second.count) == (2, 1)
        cmd = first.finding["evidences"][0]["process"]["cmd_line"]
        assert cmd == "/opt/evil --run 3", "the merged alert does not show the latest evidence"
        assert second.finding["evidences"][0]["process"]["cmd_line"] == "/opt/evil --run 2"
    finally:
        store.close()
