"""Aurora's Linux rule pack: every rule has an ATT&CK tag and fires on its golden sensor events.

The golden events in tests/data/linux_events/ are shaped the way the Linux sensor emits OCSF
(parent in actor.process and process.parent_process). A kernel test with the real sensor lands
with the sensor issue.
"""

from __future__ import annotations

import json
import os

import pytest

from aurora.detection import DetectionEngine
from aurora.detection.rules import BUILTIN_RULES

from .helpers import DATA, golden

PACK = sorted(p.stem for p in (BUILTIN_RULES / "linux").glob("*.yml"))


@pytest.fixture(scope="module")
def pack() -> DetectionEngine:
    eng = DetectionEngine.load([], include_builtin=True)
    assert not eng.errors, [str(e) for e in eng.errors]
    return eng


def test_pack_is_not_empty_and_every_rule_has_golden_events() -> None:
    assert len(PACK) >= 15
    goldens = sorted(p.stem for p in (DATA / "linux_events").glob("*.json"))
    assert goldens == PACK


@pytest.mark.parametrize("name", PACK)
def test_rule_has_attack_tag(pack: DetectionEngine, name: str) -> None:
    (rule,) = [r for r in pack.rules if r.path is not None and r.path.stem == name]
    assert any(t.startswith("attack.t") for t in rule.tags), rule.tags
    assert rule.logsource["product"] == "linux"


@pytest.mark.parametrize("name", PACK)
def test_rule_fires_on_golden_positive_and_not_on_negative(
    pack: DetectionEngine, name: str
) -> None:
    (rule,) = [r for r in pack.rules if r.path is not None and r.path.stem == name]
    data = golden(name)
    assert data["positive"] and data["negative"]
    for ev in data["positive"]:
        assert rule.id in [f.rule.id for f in pack.match(ev)], ev
    for ev in data["negative"]:
        assert rule.id not in [f.rule.id for f in pack.match(ev)], ev


def test_golden_expected_rule_hits(pack: DetectionEngine) -> None:
    """Every golden event against the whole pack: which rules fire (catches cross-rule effects).

    Set AURORA_UPDATE_GOLDEN=1 to rewrite tests/data/detection/linux_pack_hits.json, then
    review the diff.
    """
    got: dict[str, list[str]] = {}
    for name in PACK:
        data = golden(name)
        for kind in ("positive", "negative"):
            for i, ev in enumerate(data[kind]):
                got[f"{name}/{kind}/{i}"] = sorted({f.rule.title for f in pack.match(ev)})
    path = DATA / "detection" / "linux_pack_hits.json"
    if os.environ.get("AURORA_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert json.loads(path.read_text()) == got
