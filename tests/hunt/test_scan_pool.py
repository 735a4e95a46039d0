"""`aurora scan --jobs N`: a pool of processes gives the same findings in the same order as one
process, correlations still see events of every file, and matched fields name their selection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.hunt.scan_support import RESTORE_ID, Scan, hunt_dir, scan


def identity(findings: list[dict[str, Any]]) -> list[tuple[str, str, int, str]]:
    """What a finding is, without the ids and creation times each run mints afresh."""
    return [
        (
            f["finding_info"]["analytic"]["uid"],
            f["unmapped"]["source"]["file"],
            f["unmapped"]["source"]["record_id"],
            json.dumps(f["unmapped"]["matched_fields"], sort_keys=True),
        )
        for f in findings
    ]


def test_pool_output_equals_single_process_output(tmp_path: Path) -> None:
    inputs, rules = hunt_dir(tmp_path)
    # several copies of each file, so each worker gets many files and they finish out of order
    originals = sorted(inputs.glob("*.evtx"))
    for i in range(3):
        for f in originals:
            (inputs / f"copy{i}-{f.name}").write_bytes(f.read_bytes())
    runs: dict[int, Scan] = {}
    for jobs in (1, 2, 3):
        runs[jobs] = scan(
            inputs, "--no-builtin", "--rules", rules, "--format", "jsonl", "--jobs", jobs
        )
        assert runs[jobs].rc == 0, runs[jobs].err
    one = identity(runs[1].findings())
    assert len(one) == 4 * 13  # 13 findings per copy of the four files
    assert identity(runs[2].findings()) == one
    assert identity(runs[3].findings()) == one
    files = [row[1] for row in one]
    assert files == sorted(files, key=lambda p: sorted({*files}).index(p))  # input order


def test_matched_fields_name_their_selections(tmp_path: Path) -> None:
    inputs, rules = hunt_dir(tmp_path)
    found = scan(inputs, "--no-builtin", "--rules", rules, "--format", "jsonl")
    restore = [f for f in found.findings() if f["finding_info"]["analytic"]["uid"] == RESTORE_ID]
    assert restore
    by_field = {m["field"]: m for m in restore[0]["unmapped"]["matched_fields"]}
    assert by_field["Image"]["selections"] == ["selection_img"]
    assert by_field["Image"]["value"].lower().endswith("\\reg.exe")
    assert set(by_field["CommandLine"]["selections"]) == {
        "selection_cli_action",
        "selection_cli_reg_root",
        "selection_cli_reg_key",
    }


def _record(user: str, image: str, minute: int) -> dict[str, Any]:
    return {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": 1,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "win-07",
                "EventRecordID": 100 + minute,
                "TimeCreated": {"#attributes": {"SystemTime": f"2026-11-21T10:{minute:02d}:00Z"}},
            },
            "EventData": {"Image": image, "User": user, "CommandLine": image},
        }
    }


RULE = """title: Probe tool
id: 00000000-0000-0000-0000-0000000000a1
name: probe_tool
level: low
logsource:
    product: windows
    category: process_creation
detection:
    s:
        Image|endswith: '\\probe.exe'
    condition: s
---
title: Probe tool three times
id: 00000000-0000-0000-0000-0000000000c2
level: high
correlation:
    type: event_count
    rules:
        - probe_tool
    group-by:
        - User
    timespan: 1h
    generate: true
    condition:
        gte: 3
"""


def test_correlation_spans_files_scanned_by_different_workers(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    # one probe per file, three files: only the three together reach the threshold
    for minute in (1, 2, 3):
        lines = [
            _record("bob", "C:\\t\\probe.exe", minute),
            _record("eve", "C:\\t\\ok.exe", minute),
        ]
        (inputs / f"{minute}.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    (tmp_path / "rules.yml").write_text(RULE)
    for jobs in ("1", "3"):
        found = scan(
            inputs,
            "--no-builtin",
            "--rules",
            tmp_path / "rules.yml",
            "--format",
            "jsonl",
            "--jobs",
            jobs,
        )
        assert found.rc == 0, found.err
        ids = [f["finding_info"]["analytic"]["uid"] for f in found.findings()]
        assert ids.count("00000000-0000-0000-0000-0000000000a1") == 3
        assert ids.count("00000000-0000-0000-0000-0000000000c2") == 1
        assert ids[-1] == "00000000-0000-0000-0000-0000000000c2"  # after the third probe


def test_jobs_must_be_positive(tmp_path: Path) -> None:
    inputs, rules = hunt_dir(tmp_path)
    bad = scan(inputs, "--rules", rules, "--jobs", "0")
    assert bad.rc == 2 and "--jobs 0" in bad.err and len(bad.err.strip().splitlines()) == 1
