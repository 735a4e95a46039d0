"""Repeats fold into their alert without reading the sensor's alerts on every commit: a key is
looked up in the store once (by the ``alerts_key`` index) the first time the stage sees it, never
by listing alerts, so ingest does not slow down as alerts accumulate; and a repeat still reaches
its alert when 200 newer alerts of other trees followed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from evil_rule import RULE, RULE_ID, evil

from aurora.collector.detect import DetectionStage
from aurora.collector.store import open_store
from aurora.config.detection import DetectionConfig


class CountingStore:
    """The real SQLite store, counting how often the stage reads alerts."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.list_calls = 0
        self.lookups = 0

    def list_alerts(self, **kw: Any) -> Any:
        self.list_calls += 1
        return self.store.list_alerts(**kw)

    def latest_alert(self, *key: str) -> Any:
        self.lookups += 1
        return self.store.latest_alert(*key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def commit(stage: DetectionStage, store: Any, events: list[dict[str, Any]]) -> None:
    store.add_alerts(stage.evaluate("s1", [(e, (RULE_ID,)) for e in events], store))
    stage.committed(store, None)


def stage_and_store(tmp_path: Path) -> tuple[DetectionStage, CountingStore]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "evil.yml").write_text(RULE)
    stage = DetectionStage.from_config(DetectionConfig(rule_dirs=[rules], enabled=True))
    return stage, CountingStore(open_store(tmp_path / "state"))


def test_repeats_of_known_keys_read_no_alert_list(tmp_path: Path) -> None:
    stage, store = stage_and_store(tmp_path)
    try:
        commit(stage, store, [evil(1, "a"), evil(2, "b")])
        commit(stage, store, [evil(3, "a"), evil(4, "b")])
        assert store.lookups == 2, "each key is looked up once, when first seen"
        for seq in range(5, 25):
            commit(stage, store, [evil(seq, "a"), evil(seq, "b")])
        assert store.lookups == 2, "known keys were looked up again"
        assert store.list_calls == 0
        counts = {a.finding["evidences"][0]["process"]["session"]["uid"]: a.count
                  for a in store.list_alerts(sensor_id="s1")}  # fmt: skip
        assert counts == {"a": 22, "b": 22}
    finally:
        store.close()


@pytest.mark.parametrize("known_before", [True, False])
def test_a_repeat_reaches_its_alert_behind_200_newer_ones(
    tmp_path: Path, known_before: bool
) -> None:
    stage, store = stage_and_store(tmp_path)
    try:
        commit(stage, store, [evil(1, "first")])
        if known_before:
            commit(stage, store, [evil(2, "first")])  # its alert is now known
        commit(stage, store, [evil(100 + i, f"other-{i}") for i in range(250)])
        if not known_before:
            # First repeated only now, behind 250 newer alerts: the deeper read finds it.
            commit(stage, store, [evil(2, "first")])
        commit(stage, store, [evil(3, "first")])
        alerts = store.list_alerts(sensor_id="s1", limit=1000)
        first = [a for a in alerts if a.finding["evidences"][0]["process"]["session"]["uid"]
                 == "first"]  # fmt: skip
        assert len(alerts) == 251 and len(first) == 1
        assert first[0].count == 3
        cmd = first[0].finding["evidences"][0]["process"]["cmd_line"]
        assert cmd == "/opt/evil --run 3"
    finally:
        store.close()
