"""Rule regexes on RE2, Sigma's regex flags, the bounded fallback, and disabling a slow rule."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import pytest
from sigma.types import SigmaString

from aurora.detection import DetectionEngine, ir
from aurora.detection.predicates import KeywordText, keyword_predicate
from aurora.detection.regex import RegexTimeout, fallback_reason, finder
from aurora.detection.slow_rules import NOTICE_PREFIX, fallback_warning

HOSTILE = "a" * 33 + "#"


def rid(name: str) -> str:
    """A stable UUID per test rule name (Sigma ids are UUIDs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def rule(name: str, selection: str, level: str = "medium") -> str:
    return f"""
title: rule {name}
id: {rid(name)}
logsource: {{product: linux, category: process_creation}}
detection:
    sel:
        {selection}
    condition: sel
level: {level}
"""


def process(cmd_line: str, path: str = "/usr/bin/python3") -> dict[str, Any]:
    return {
        "class_uid": 1007,
        "activity_id": 1,
        "time": 1795000000000,
        "process": {"pid": 1, "cmd_line": cmd_line, "file": {"path": path, "name": "x"}},
    }


def hits(engine: DetectionEngine, cmd_line: str) -> list[str]:
    """The rules (test names; notices as ``notice:name``) matching one command line."""
    names = {rid(n): n for n in ("r1", "slow", "plain", "kw")}
    out = []
    for r in engine.match_rules(process(cmd_line)):
        if r.id.startswith(NOTICE_PREFIX):
            out.append("notice:" + names[r.id.removeprefix(NOTICE_PREFIX)])
        else:
            out.append(names[r.id])
    return out


@pytest.mark.parametrize(
    ("selection", "matching", "not_matching"),
    [
        ("CommandLine|re: 'curl .*\\|\\s*sh'", "curl http://x | sh", "curl http://x > sh"),
        ("CommandLine|re: 'Invoke-Mimikatz'", "x Invoke-Mimikatz y", "x invoke-mimikatz y"),
        ("CommandLine|re|i: 'invoke-mimikatz'", "x INVOKE-Mimikatz y", "x Invoke-Mimi y"),
        ("CommandLine|re|m: '^secret$'", "first\nsecret\nlast", "first secret last"),
        ("CommandLine|re: '(?m)^secret$'", "first\nsecret\nlast", "first secret last"),
        ("CommandLine|re|s: 'begin.end'", "begin\nend", "begin\n\nend"),
        ("CommandLine|re: 'begin.end'", "begin-end", "begin\nend"),
        ("CommandLine|re: 'tail\\Z'", "the tail", "tail end"),
        ("CommandLine|re: 'foo(?=bar)'", "foobar", "foobaz"),  # fallback engine
        ("CommandLine|re: '(ab)\\1'", "xabab", "xab"),  # fallback engine
        ("CommandLine|re: '(a+)+$'", "aaaa", HOSTILE),
        ("CommandLine|contains|all: ['a*b', 'c?d']", "a*b c?d", "ab cd"),
        ("CommandLine: '*x?y*'", "..xzy..", "..xy.."),
    ],
)
def test_regex_rules_fire_exactly_when_they_should(
    selection: str, matching: str, not_matching: str
) -> None:
    engine = DetectionEngine.from_yaml(rule("r1", selection))
    assert engine.errors == [] and len(engine.rules) == 1
    assert hits(engine, matching) == ["r1"]
    assert hits(engine, not_matching) == []


def test_catastrophic_pattern_runs_in_linear_time() -> None:
    # Python's re takes minutes on this; RE2 microseconds.
    start = time.monotonic()
    assert finder("(a+)+$")(HOSTILE) is False
    assert finder("(x+x+)+y")("x" * 5000) is False
    assert time.monotonic() - start < 1


def test_fallback_is_only_for_what_re2_lacks() -> None:
    assert fallback_reason("(a+)+$") is None
    assert fallback_reason("tail\\Z", 0) is None
    assert "(?=" in str(fallback_reason("a(?=b)"))
    assert fallback_reason("(a)\\1") is not None


def test_fallback_match_is_bounded_in_time() -> None:
    find = finder("(a|aa)+(?=b)")
    start = time.monotonic()
    with pytest.raises(RegexTimeout, match="took over"):
        find(HOSTILE)
    assert time.monotonic() - start < 1.5


def test_slow_rule_is_disabled_and_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    engine = DetectionEngine.from_yaml(
        rule("slow", "CommandLine|re: '(a|aa)+(?=b)'"),
        rule("plain", "CommandLine|contains: 'aaa'"),
    )
    with caplog.at_level(logging.WARNING, "aurora.detection"):
        first = hits(engine, HOSTILE)
    assert first == ["notice:slow", "plain"]
    assert rid("slow") in engine.too_slow
    assert engine.rule(rid("slow")).enabled is False
    assert [r for r in caplog.records if "disabled" in r.getMessage()]
    start = time.monotonic()
    assert hits(engine, HOSTILE.replace("#", "!")) == ["plain"]  # the rule no longer runs
    assert hits(engine, "aab") == []
    assert time.monotonic() - start < 0.2
    # `match` (aurora scan) reports the disabled rule in the log, never as a finding.
    assert [f.rule.id for f in engine.match(process(HOSTILE))] == [rid("plain")]


def test_stage_side_notice_disables_the_rule_and_raises_high_alert() -> None:
    engine = DetectionEngine.from_yaml(rule("slow", "CommandLine|re: '(a|aa)+(?=b)'"))
    notice = engine.notice(NOTICE_PREFIX + rid("slow"))
    assert notice is not None and notice.level == "high"
    assert notice.title == "Rule disabled: regex too slow: rule slow"
    assert engine.notice(NOTICE_PREFIX + rid("slow")) is None  # once per process
    assert engine.notice(NOTICE_PREFIX + rid("unknown")) is None
    assert engine.notice(rid("slow")) is None


def test_rules_check_warning_names_rule_field_and_reason() -> None:
    engine = DetectionEngine.from_yaml(
        rule("fb", "CommandLine|re: 'x(?!y)'"), rule("ok", "CommandLine|re: 'x+y'")
    )
    by_id = {r.id: r for r in engine.rules}
    warning = fallback_warning(by_id[rid("fb")])
    assert warning is not None and "\n" not in warning
    assert rid("fb") in warning and "CommandLine" in warning and "(?!" in warning
    assert fallback_warning(by_id[rid("ok")]) is None


def test_keyword_regexes_and_globs_use_the_same_engine() -> None:
    # Field-less (keyword) searches compile their patterns through the same module.
    start = time.monotonic()
    for test in (ir.Test("re", "(a+)+$"), ir.Test("re", "(x+x+)+y")):
        find = keyword_predicate(test, KeywordText())
        assert find({"unmapped": {"CommandLine": HOSTILE}}) is False
    glob = keyword_predicate(ir.string_test(SigmaString("*a*a*a*a*a*a*a*a*a*a*b*")), KeywordText())
    assert glob({"unmapped": {"CommandLine": "a" * 5000}}) is False
    assert time.monotonic() - start < 1


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("((a{1000}){1000}){1000}", "invalid repetition size"),  # RE2 refuses: not a fallback
        ("(?=x)((a{1000}){1000}){1000}", "expand past"),  # the fallback would compile for ever
        ("a++", "bad repetition operator"),
    ],
)
def test_patterns_neither_engine_may_run_are_refused_at_load(pattern: str, why: str) -> None:
    start = time.monotonic()
    engine = DetectionEngine.from_yaml(rule("r1", f"CommandLine|re: '{pattern}'"))
    assert time.monotonic() - start < 2
    assert engine.rules == []
    (failure,) = engine.errors
    assert why in failure.reason and "\n" not in failure.reason
