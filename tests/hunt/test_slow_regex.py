"""Issue 18, finding 2: no rule can stall `aurora scan` (a real `aurora scan` process each time).

A catastrophic regex (`(a+)+$` on `aaaa…a#`) ran for minutes on Python's backtracking engine; it
now runs on RE2. A pattern RE2 cannot run (lookahead) falls back to a bounded matcher, and when it
runs past its bound the rule is disabled with a line on stderr while the scan carries on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AURORA = Path(sys.executable).with_name("aurora")
HOSTILE_CMDLINE = "a" * 33 + "#"


def linux_process(cmd_line: str) -> dict[str, object]:
    return {
        "class_uid": 1007,
        "activity_id": 1,
        "category_uid": 1,
        "time": 1795000000000,
        "device": {"hostname": "lab-linux-01", "os": {"name": "Linux", "type_id": 200}},
        "process": {
            "pid": 4242,
            "cmd_line": cmd_line,
            "file": {"path": "/usr/bin/python3", "name": "python3"},
        },
    }


def rule(rule_id: str, selection: str) -> str:
    return f"""
title: test rule {rule_id}
id: {rule_id}
status: test
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        {selection}
    condition: selection
level: medium
"""


CATASTROPHIC = "11111111-0000-4000-8000-000000000001"
NEEDS_FALLBACK = "11111111-0000-4000-8000-000000000002"
PLAIN = "11111111-0000-4000-8000-000000000003"


def scan(tmp_path: Path, rules: dict[str, str], timeout: float) -> tuple[list[str], str, float]:
    """Run `aurora scan` on one hostile event; (matched rule ids, stderr, seconds taken)."""
    rule_dir = tmp_path / "rules"
    rule_dir.mkdir()
    for rid, selection in rules.items():
        (rule_dir / f"{rid}.yml").write_text(rule(rid, selection))
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(linux_process(HOSTILE_CMDLINE)) + "\n")
    start = time.monotonic()
    proc = subprocess.run(
        [AURORA, "scan", events, "--rules", rule_dir, "--no-builtin", "--format", "jsonl"],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        check=False,
    )
    took = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    ids = [json.loads(x)["finding_info"]["analytic"]["uid"] for x in proc.stdout.splitlines()]
    return ids, proc.stderr, took


def test_catastrophic_regex_does_not_stall_scan(tmp_path: Path) -> None:
    ids, _err, took = scan(
        tmp_path,
        {
            CATASTROPHIC: "CommandLine|re: '(a+)+$'",
            PLAIN: "CommandLine|contains: 'aaa'",
        },
        timeout=30,
    )
    assert took < 15, f"scan of one event took {took:.1f} s"
    assert PLAIN in ids  # other rules' hits are still reported
    assert CATASTROPHIC not in ids  # the line ends in '#': `$` does not hold


def test_slow_fallback_rule_is_disabled_and_scan_carries_on(tmp_path: Path) -> None:
    ids, err, took = scan(
        tmp_path,
        {
            NEEDS_FALLBACK: "CommandLine|re: '(a|aa)+(?=b)'",
            PLAIN: "CommandLine|contains: 'aaa'",
        },
        timeout=30,
    )
    assert took < 15, f"scan of one event took {took:.1f} s"
    assert ids == [PLAIN]
    disabled = [line for line in err.splitlines() if "disabled" in line]
    assert len(disabled) == 1 and NEEDS_FALLBACK in disabled[0], err
