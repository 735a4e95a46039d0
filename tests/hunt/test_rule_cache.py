"""The compiled-rule cache: a second load of unchanged rules skips pySigma, any change to a rule
(or to the placeholders) compiles afresh, and a damaged or foreign entry is ignored and rebuilt."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from sigma.collection import SigmaCollection
from tests.detection.helpers import rule, sysmon
from tests.hunt.scan_support import SIGMA, scan

from aurora.config.detection import DetectionConfig
from aurora.detection import DetectionEngine
from aurora.detection.rule_cache import RuleCache, default_dir

RULE_ID = "00000000-0000-0000-0000-0000000000c1"


def write_rule(directory: Path, image: str) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / "r.yml"
    path.write_text(
        rule(f"    s:\n        Image|endswith: '\\{image}'\n    condition: s", rid=RULE_ID)
    )
    return path


def fires(eng: DetectionEngine, image: str) -> bool:
    return any(f.rule.id == RULE_ID for f in eng.match(sysmon(Image=f"C:\\x\\{image}")))


def load(rules: Path, cache: RuleCache, **config: Any) -> DetectionEngine:
    return DetectionEngine.load(
        [rules], include_builtin=False, config=DetectionConfig(**config), cache=cache
    )


@pytest.fixture
def no_pysigma(monkeypatch: pytest.MonkeyPatch) -> None:
    """pySigma's parser fails the test if it is called at all."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pySigma parsed a rule although the cache holds it")

    monkeypatch.setattr(SigmaCollection, "from_dicts", refuse)


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.rules.pickle"))


def test_second_load_skips_pysigma_and_matches_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules"
    write_rule(rules, "evil.exe")
    cache = RuleCache(tmp_path / "cache")
    first = load(rules, cache)
    assert (cache.hits, cache.misses) == (0, 1) and len(entries(cache.directory)) == 1

    monkeypatch.setattr(SigmaCollection, "from_dicts", lambda *a, **k: pytest.fail("pySigma ran"))
    second = load(rules, cache)
    assert cache.hits == 1
    assert [(r.id, r.ir, r.title, r.level) for r in second.rules] == [
        (r.id, r.ir, r.title, r.level) for r in first.rules
    ]
    assert fires(second, "evil.exe") and not fires(second, "benign.exe")


def test_a_changed_rule_is_compiled_again(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    write_rule(rules, "evil.exe")
    cache = RuleCache(tmp_path / "cache")
    assert fires(load(rules, cache), "evil.exe")
    write_rule(rules, "other.exe")  # same path, same size class: only the content differs
    eng = load(rules, cache)
    assert cache.misses == 2
    assert fires(eng, "other.exe") and not fires(eng, "evil.exe")
    # a new file in the directory is a new rule set as well
    (rules / "second.yml").write_text(
        rule("    s:\n        Image|endswith: '\\two.exe'\n    condition: s")
    )
    assert len(load(rules, cache).rules) == 2 and cache.misses == 3


def test_placeholders_are_part_of_the_key(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "p.yml").write_text(
        rule("    s:\n        Image|expand: '%tools%'\n    condition: s", rid=RULE_ID)
    )
    cache = RuleCache(tmp_path / "cache")
    eng = load(rules, cache, placeholders={"tools": ["C:\\x\\a.exe"]})
    assert fires(eng, "a.exe")
    eng = load(rules, cache, placeholders={"tools": ["C:\\x\\b.exe"]})
    assert cache.misses == 2 and fires(eng, "b.exe") and not fires(eng, "a.exe")


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"not a pickle at all",
        pickle.dumps((1, "another key", None)),
        pickle.dumps({"format": "unexpected"}),
    ],
    ids=["empty", "garbage", "wrong-key", "wrong-shape"],
)
def test_a_damaged_entry_is_ignored_and_rebuilt(
    tmp_path: Path, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    rules = tmp_path / "rules"
    write_rule(rules, "evil.exe")
    cache = RuleCache(tmp_path / "cache")
    load(rules, cache)
    (entry,) = entries(cache.directory)
    entry.write_bytes(damage)
    eng = load(rules, cache)
    assert fires(eng, "evil.exe")
    assert "unusable" in caplog.text and entry.name in caplog.text
    assert entry.read_bytes() != damage  # rewritten whole
    load(rules, cache)
    assert cache.hits == 1  # and read back on the next load


def test_a_cache_others_can_write_is_not_trusted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rules = tmp_path / "rules"
    write_rule(rules, "evil.exe")
    cache = RuleCache(tmp_path / "cache")
    load(rules, cache)
    os.chmod(cache.directory, 0o777)
    eng = load(rules, cache)
    assert cache.hits == 0 and fires(eng, "evil.exe")
    assert "not private" in caplog.text


def test_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AURORA_RULE_CACHE", "off")
    assert default_dir() is None
    monkeypatch.setenv("AURORA_RULE_CACHE", str(tmp_path))
    assert default_dir() == tmp_path


def test_scan_fills_the_cache_once_and_reads_it_after(
    tmp_path: Path, private_rule_cache: Path
) -> None:
    rules = SIGMA / "rules" / "windows" / "process_creation"
    evtx = next((SIGMA / "regression_data").rglob("*.evtx"))
    cold = scan(evtx, "--no-builtin", "--rules", rules, "--format", "jsonl")
    assert cold.rc == 0, cold.err
    (entry,) = entries(private_rule_cache)
    mtime = entry.stat().st_mtime_ns
    warm = scan(evtx, "--no-builtin", "--rules", rules, "--format", "jsonl")
    assert warm.rc == 0 and entries(private_rule_cache) == [entry]
    assert entry.stat().st_mtime_ns >= mtime
    assert sorted(f["finding_info"]["analytic"]["uid"] for f in warm.findings()) == sorted(
        f["finding_info"]["analytic"]["uid"] for f in cold.findings()
    )
    off = tmp_path / "off"
    off.mkdir()
    os.environ["AURORA_RULE_CACHE"] = str(off)
    assert scan(evtx, "--no-builtin", "--rules", rules, "--no-rule-cache").rc == 0
    assert entries(off) == []


def test_a_cache_that_cannot_be_written_only_costs_speed(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    write_rule(rules, "evil.exe")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    cache = RuleCache(blocker / "cache")
    assert fires(load(rules, cache), "evil.exe")
    assert fires(load(rules, cache), "evil.exe") and cache.hits == 0
