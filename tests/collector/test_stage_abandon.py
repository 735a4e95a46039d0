"""A commit group that fails leaves no trace in the detection stage: when its batches are
evaluated again (resent, or stored one by one after another sensor's batch failed the group),
their matches raise their alerts as if seen for the first time, and repeats are not counted
twice."""

from __future__ import annotations

from pathlib import Path

from evil_rule import RULE, RULE_ID, evil

from aurora.collector.detect import DetectionStage
from aurora.config.detection import DetectionConfig


def test_an_abandoned_group_does_not_suppress_its_own_alert(tmp_path: Path) -> None:
    (tmp_path / "evil.yml").write_text(RULE)
    stage = DetectionStage.from_config(DetectionConfig(rule_dirs=[tmp_path], enabled=True))
    hit = [(evil(1), (RULE_ID,))]
    first = stage.evaluate("s1", hit)
    assert [a.rule_uid for a in first] == [RULE_ID]
    stage.abandoned()  # the commit failed: nothing of it happened
    again = stage.evaluate("s1", hit)
    assert [a.rule_uid for a in again] == [RULE_ID], "the retried match was suppressed"


def test_an_abandoned_group_does_not_count_its_repeats(tmp_path: Path) -> None:
    (tmp_path / "evil.yml").write_text(RULE)
    stage = DetectionStage.from_config(DetectionConfig(rule_dirs=[tmp_path], enabled=True))
    assert len(stage.evaluate("s1", [(evil(1), (RULE_ID,))])) == 1
    stage.abandoned()
    again = stage.evaluate("s1", [(evil(1), (RULE_ID,)), (evil(1), (RULE_ID,))])
    # One alert with its one repeat folded in, not two (the abandoned try added none).
    assert [a.count for a in again] == [2]
    assert [a.count for a in stage.group_alerts()] == [2]
