"""Correlation rules: each type, group-by, and the window at its edges."""

from __future__ import annotations

from typing import Any

import pytest

from aurora.detection.findings import build_finding

from .helpers import engine, rule, sysmon

BASE_A = rule(
    "    s:\n        Image|endswith: '\\a.exe'\n    condition: s",
    rid="00000000-0000-0000-0000-00000000000a",
    extra="name: rule_a\n",
)
BASE_B = rule(
    "    s:\n        Image|endswith: '\\b.exe'\n    condition: s",
    rid="00000000-0000-0000-0000-00000000000b",
    extra="name: rule_b\n",
)
CORR_ID = "00000000-0000-0000-0000-0000000000cc"


def correlation(
    ctype: str,
    condition: str,
    timespan: str = "10s",
    rules: tuple[str, ...] = ("rule_a",),
    generate: bool = False,
) -> str:
    refs = "".join(f"        - {r}\n" for r in rules)
    return (
        f"title: corr\nid: {CORR_ID}\nlevel: critical\ntags:\n    - attack.t1110\n"
        f"correlation:\n    type: {ctype}\n    rules:\n{refs}    group-by:\n        - User\n"
        f"    timespan: {timespan}\n    generate: {str(generate).lower()}\n"
        f"    condition:\n{condition}\n"
    )


def at(t_ms: int, image: str = "C:\\a.exe", user: str = "bob", **kw: Any) -> dict[str, Any]:
    ev = sysmon(Image=image, User=user, **kw)
    ev["time"] = t_ms
    return ev


def corr_hits(eng: Any, events: list[dict[str, Any]]) -> list[int]:
    """Indices of the events after which the correlation fired."""
    return [i for i, e in enumerate(events) for f in eng.match(e) if f.rule.id == CORR_ID]


def test_event_count_fires_at_threshold_and_resets() -> None:
    eng = engine(BASE_A, correlation("event_count", "        gte: 3"))
    evs = [at(1000 * i) for i in range(6)]
    assert corr_hits(eng, evs) == [2, 5]


def test_event_count_window_edges() -> None:
    # inclusive window: 0 ms and exactly 10 s later still correlate
    eng = engine(BASE_A, correlation("event_count", "        gte: 2"))
    assert corr_hits(eng, [at(0), at(10_000)]) == [1]
    eng = engine(BASE_A, correlation("event_count", "        gte: 2"))
    assert corr_hits(eng, [at(0), at(10_001)]) == []


def test_group_by_separates_groups() -> None:
    eng = engine(BASE_A, correlation("event_count", "        gte: 2"))
    assert corr_hits(eng, [at(0, user="bob"), at(1, user="eve"), at(2, user="bob")]) == [2]


def test_value_count_counts_distinct_values() -> None:
    eng = engine(BASE_A, correlation("value_count", "        gte: 3\n        field: CommandLine"))
    evs = [at(i, CommandLine=c) for i, c in enumerate(["x", "x", "y", "y", "z"])]
    assert corr_hits(eng, evs) == [4]


def test_temporal_needs_all_rules_in_window_any_order() -> None:
    eng = engine(
        BASE_A, BASE_B, correlation("temporal", "        gte: 2", rules=("rule_a", "rule_b"))
    )
    assert corr_hits(eng, [at(0, "C:\\b.exe"), at(5000, "C:\\a.exe")]) == [1]
    eng = engine(
        BASE_A, BASE_B, correlation("temporal", "        gte: 2", rules=("rule_a", "rule_b"))
    )
    assert corr_hits(eng, [at(0, "C:\\b.exe"), at(10_001, "C:\\a.exe")]) == []


def test_temporal_ordered_requires_order() -> None:
    doc = correlation("temporal_ordered", "        gte: 2", rules=("rule_a", "rule_b"))
    eng = engine(BASE_A, BASE_B, doc)
    assert corr_hits(eng, [at(0, "C:\\b.exe"), at(1, "C:\\a.exe")]) == []
    assert corr_hits(eng, [at(2, "C:\\b.exe")]) == [0]


def test_generate_false_hides_base_rule_findings_and_true_keeps_them() -> None:
    eng = engine(BASE_A, correlation("event_count", "        gte: 5"))
    assert eng.match(at(0)) == []
    eng = engine(BASE_A, correlation("event_count", "        gte: 5", generate=True))
    assert [f.rule.id for f in eng.match(at(0))] == ["00000000-0000-0000-0000-00000000000a"]


def test_group_state_is_bounded() -> None:
    eng = engine(BASE_A, correlation("event_count", "        gte: 2"), correlation_max_groups=3)
    for i in range(10):
        eng.match(at(i, user=f"user{i}"))
    assert len(eng.correlation._state[0]) == 3


def test_correlation_finding_carries_evidence() -> None:
    eng = engine(BASE_A, correlation("event_count", "        gte: 2"))
    eng.match(at(0))
    (f,) = eng.match(at(1))
    out = build_finding(f)
    assert out["finding_info"]["analytic"]["uid"] == CORR_ID
    assert len(out["evidences"]) == 2
    assert out["severity_id"] == 5
    assert out["unmapped"]["group_key"] == "User=bob"


def test_unknown_rule_reference_is_an_error() -> None:
    from aurora.detection import DetectionEngine

    eng = DetectionEngine.from_yaml(
        BASE_A, correlation("event_count", "        gte: 2", rules=("nope",))
    )
    assert any("nope" in str(e) for e in eng.errors)


@pytest.mark.parametrize("bad", ["        gte: x", "        between: 3"])
def test_bad_condition_is_an_error(bad: str) -> None:
    from aurora.detection import DetectionEngine

    eng = DetectionEngine.from_yaml(BASE_A, correlation("event_count", bad))
    assert eng.errors
