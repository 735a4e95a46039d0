"""A sensor handed back to a worker that held it before (its cached high-water mark is behind
what another worker stored meanwhile): the batch redelivered to it is not evaluated against the
stale mark. The store refuses the group, the writer evaluates it again from the store's mark,
and each alert counts each match once."""

from __future__ import annotations

from pathlib import Path

import pytest
from evil_rule import RULE, evil

from aurora.collector.detect import DetectionStage
from aurora.collector.ingest import IngestWriter
from aurora.collector.store import HostRecord
from aurora.collector.store.sqlite import SQLiteStore
from aurora.config.detection import DetectionConfig
from aurora.wire.codec import encode_batch


def _writer(store: SQLiteStore, rules: Path) -> IngestWriter:
    stage = DetectionStage.from_config(DetectionConfig(rule_dirs=[rules], enabled=True))
    writer = IngestWriter(store, max_uncompressed=1 << 20, detection=stage)
    writer.start()
    return writer


def _store(writer: IngestWriter, first: int, last: int) -> None:
    events = [evil(seq) for seq in range(first, last + 1)]
    outcome = writer.submit("s1", encode_batch("s1", first, events)).result(timeout=30)
    assert outcome.accepted


def test_a_stale_high_water_mark_is_caught_and_the_group_evaluated_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "evil.yml").write_text(RULE)
    store = SQLiteStore(tmp_path / "aurora.db")
    store.register_host(HostRecord("s1", hostname="s1"))
    first = _writer(store, rules)
    second = _writer(store, rules)
    try:
        _store(first, 1, 5)  # the first worker holds the sensor: its mark is 5
        _store(second, 6, 10)  # the sensor moved to the second, which stores 6-10
        caplog.set_level("INFO", logger="aurora.collector.ingest")
        # Back on the first: 6-10 come again (unacknowledged when the second went), with 11-12.
        _store(first, 6, 12)
        [alert] = store.list_alerts()
        assert alert.count == 12
        assert alert.finding["evidences"][0]["process"]["cmd_line"] == "/opt/evil --run 12"
        assert "evaluating the group again" in caplog.text
        assert store.count_events("s1") == 12
    finally:
        first.stop()
        second.stop()
        store.close()
