"""Rule-set generations: the batch reader process restarts on new rules and tags each hit with
the generation that matched it; the detection stage evaluates a hit with that generation's
engine, even after a reload removed or changed its rule."""

from __future__ import annotations

from pathlib import Path

from client import make_event

from aurora.collector.detect import BatchReader, DetectionStage
from aurora.collector.detect.batch_reader import RuleIds
from aurora.config.detection import DetectionConfig
from aurora.wire.codec import encode_batch

LIMIT = 64 * 1024 * 1024


def _rule(rule_id: str, path_end: str) -> str:
    return (
        f"title: Test {path_end}\nid: {rule_id}\nstatus: test\nlevel: high\n"
        "logsource: {product: linux, category: process_creation}\n"
        f"detection:\n  sel: {{Image|endswith: '{path_end}'}}\n  condition: sel\n"
    )


OLD = "11111111-2222-4333-8444-555555550001"
NEW = "11111111-2222-4333-8444-555555550002"


def _event(path: str) -> dict[str, object]:
    ev = make_event(1)
    ev["process"]["file"]["path"] = path
    return ev


def test_the_reader_restarts_on_a_new_generation_and_tags_its_hits(tmp_path: Path) -> None:
    (tmp_path / "old.yml").write_text(_rule(OLD, "/gen-old"))
    stage = DetectionStage.from_config(DetectionConfig(rule_dirs=[tmp_path]))
    reader = BatchReader(rules=stage.rules)
    batch = encode_batch("s", 1, [_event("/opt/gen-old"), _event("/opt/gen-new")])
    try:
        reader.start()
        _, _, _, hits = reader.read(batch, LIMIT, 0)
        assert [(i, tuple(ids), ids.generation) for i, _, ids in hits] == [(0, (OLD,), 0)]

        (tmp_path / "old.yml").unlink()
        (tmp_path / "new.yml").write_text(_rule(NEW, "/gen-new"))
        assert stage.reload()
        _, _, _, hits = reader.read(batch, LIMIT, 0)
        assert [(i, tuple(ids), ids.generation) for i, _, ids in hits] == [(1, (NEW,), 1)]
    finally:
        reader.close()


def test_a_hit_is_evaluated_with_the_rules_that_matched_it(tmp_path: Path) -> None:
    (tmp_path / "old.yml").write_text(_rule(OLD, "/gen-old"))
    stage = DetectionStage.from_config(DetectionConfig(rule_dirs=[tmp_path]))
    (tmp_path / "old.yml").unlink()
    assert stage.reload()
    assert OLD not in stage.engine.rules_by_id
    # Read before the reload, evaluated after it: the old rules still raise it.
    alerts = stage.evaluate("s", [(_event("/opt/gen-old"), RuleIds([OLD], 0))])
    assert [a.rule_uid for a in alerts] == [OLD]
    # The same id from the new generation is unknown there: nothing.
    assert stage.evaluate("s", [(_event("/opt/gen-old"), RuleIds([OLD], 1))]) == []


def test_a_reload_keeps_rules_disabled_in_the_console(tmp_path: Path) -> None:
    (tmp_path / "old.yml").write_text(_rule(OLD, "/gen-old"))
    stage = DetectionStage.from_config(DetectionConfig(rule_dirs=[tmp_path]))
    assert stage.reload(disabled={OLD})
    assert stage.engine.rules_by_id[OLD].enabled is False
    assert stage.evaluate("s", [(_event("/opt/gen-old"), RuleIds([OLD], 1))]) == []
