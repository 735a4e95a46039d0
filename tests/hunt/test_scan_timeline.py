"""`aurora scan --format timeline`, the summary on stderr, and the finding filters."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from tests.hunt.scan_support import NETEXEC_ID, RESTORE_ID, Scan, hunt_dir, scan

pytestmark = pytest.mark.shared_data

TIMELINE = "time,computer,channel,event_id,level,rule,technique,details,file,record_id"


@pytest.fixture(scope="module")
def hunt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return hunt_dir(tmp_path_factory.mktemp("hunt"))


def run(hunt: tuple[Path, Path], *args: str) -> Scan:
    inputs, rules = hunt
    result = scan(inputs, "--rules", rules, "--no-builtin", *args)
    assert result.rc == 0, result.err
    return result


def test_timeline_is_one_row_per_finding_sorted_by_event_time(hunt: tuple[Path, Path]) -> None:
    result = run(hunt, "--format", "timeline")
    assert result.out.splitlines()[0] == TIMELINE
    rows = result.rows()
    assert len(rows) == 13
    times = [r["time"] for r in rows]
    assert times == sorted(times)
    # the files are read in name order, which is not time order: the sort did the work
    csv_times = [r["time"] for r in run(hunt, "--format", "csv").rows()]
    assert csv_times != times and sorted(csv_times) == times
    first = rows[0]
    assert first["computer"] == "ar-win-dc.attackrange.local"
    assert (first["level"], first["event_id"], first["technique"]) == ("low", "1", "T1070.004")
    assert first["details"].startswith("Image=") and first["file"].endswith(".evtx")


def test_summary_counts_equal_the_findings(hunt: tuple[Path, Path]) -> None:
    result = run(hunt, "--format", "jsonl")
    findings = result.findings()
    by_rule = Counter(f["finding_info"]["analytic"]["uid"] for f in findings)
    by_host = Counter(f["device"]["hostname"] for f in findings)
    err = result.err
    assert f"| findings        | {len(findings):>12} |" in err
    for level, n in Counter(f["unmapped"]["rule_level"] for f in findings).items():
        assert f"|   {level:<13} | {n:>12} |" in err
    for uid, n in by_rule.items():
        assert re.search(rf"^\s+{n}  .*\({uid}\)$", err, re.M)
    for host, n in by_host.items():
        assert re.search(rf"^\s+{n}  {re.escape(host)}$", err, re.M)
    times = sorted(f["unmapped"]["source"]["event_time"] for f in findings)
    assert "first seen: 2025-10-25T13:16:49.968Z" in err and times[0] == 1761398209968
    assert "last seen:  2026-04-08T10:58:04.888Z" in err
    assert "TA0040 Impact" in err and "TA0002 Execution" in err


def test_top_limits_the_rules_listed(hunt: tuple[Path, Path]) -> None:
    err = run(hunt, "--format", "jsonl", "--top", "1").err
    assert "top rules (of 4):" in err
    assert f"({NETEXEC_ID})" in err and f"({RESTORE_ID})" not in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--min-level", "medium"], 12),
        (["--min-level", "HIGH"], 11),
        (["--min-level", "critical"], 0),
        (["--rule", RESTORE_ID], 4),
        (["--rule", RESTORE_ID, "--rule", NETEXEC_ID], 11),
        (["--rule", "aurora-builtin-network-scan"], 0),  # a built-in detector's id is known
        (["--tag", "attack.t1490"], 4),
        (["--tag", "attack.t1490", "--tag", "attack.t1070.004"], 5),
        (["--since", "2026-01-01T00:00:00Z"], 11),
        (["--until", "2026-01-01"], 2),
        (["--since", "2026-03-11T05:43:26.400Z", "--until", "2026-03-11T05:43:28Z"], 2),
        (["--min-level", "high", "--since", "2026-04-01"], 7),
    ],
)
def test_filters_narrow_the_findings(
    hunt: tuple[Path, Path], args: list[str], expected: int
) -> None:
    result = run(hunt, "--format", "csv", *args)
    rows = result.rows()
    assert len(rows) == expected
    assert f"| findings        | {expected:>12} |" in result.err
    if "--min-level" in args:
        order = ["informational", "low", "medium", "high", "critical"]
        floor = order.index(args[args.index("--min-level") + 1].lower())
        assert all(order.index(r["level"]) >= floor for r in rows)
    if "--rule" in args:
        assert {r["rule_id"] for r in rows} <= set(args[1::2])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-level", "severe"], "--min-level 'severe': use one of"),
        (["--since", "yesterday"], "--since: invalid time 'yesterday'"),
        (["--until", "2026-13-01"], "--until: invalid time"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "--since is after --until"),
        (["--rule", "no-such-rule"], "--rule 'no-such-rule': no loaded rule has this id"),
        (["--tag", "t1059"], "--tag 't1059': a Sigma tag looks like attack.t1059"),
        (["--top", "-3"], "--top -3: give a count of 0 or more"),
        (["--format", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_bad_filter_values_are_refused(
    hunt: tuple[Path, Path], args: list[str], message: str
) -> None:
    inputs, rules = hunt
    result = scan(inputs, "--rules", rules, "--no-builtin", *args)
    assert result.rc == 2
    assert result.out == ""
    assert message in result.err.strip().splitlines()[-1]
    if "--format" not in args:  # argparse's own refusals also print the usage line
        assert len(result.err.strip().splitlines()) == 1
