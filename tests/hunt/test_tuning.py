"""Tuning as data: exceptions by field values tune out exactly the matches they describe, in
`aurora scan --exclude` as in the library; a bad tuning file is a one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.detection.helpers import sysmon
from tests.hunt.scan_support import NETEXEC_ID, RESTORE_ID, hunt_dir, scan

from aurora.detection.tuning import Tuning, TuningError

RULE = "00000000-0000-0000-0000-000000000001"


def tuning(text: str) -> Tuning:
    return Tuning.parse(text, "t.yaml")


def event(parent: str = "C:\\Backup\\agent.exe", host: str = "win-01") -> dict[str, object]:
    ev = sysmon(Image="C:\\Windows\\reg.exe", ParentImage=parent, CommandLine="reg add x")
    ev["device"] = {"hostname": host}
    return ev


def test_exception_by_field_value_and_host() -> None:
    t = tuning(
        f"exceptions:\n  - rule: {RULE}\n    fields:\n"
        "      ParentImage: ['c:\\backup\\AGENT.exe']\n"
        "    hosts: [WIN-01]\n    comment: backup agent sets this nightly\n"
    )
    assert t.excludes(RULE, event())  # values and hosts compare case-insensitively
    assert not t.excludes(RULE, event(host="win-02"))  # another host: still reported
    assert not t.excludes(RULE, event(parent="C:\\Backup\\agent2.exe"))  # look-alike parent
    assert not t.excludes("another-rule", event())  # another rule's match is untouched


def test_every_field_must_hold_and_modifiers_compare_parts() -> None:
    t = tuning(
        f"exceptions:\n  - rule: {RULE}\n    fields:\n      ParentImage|endswith: ['\\agent.exe']\n"
        "      CommandLine|contains: [' add ', ' delete ']\n"
    )
    assert t.excludes(RULE, event())
    ev = event()
    ev["process"]["cmd_line"] = "reg query x"  # type: ignore[index]
    assert not t.excludes(RULE, ev)


def test_dump_reads_back_the_same_exceptions() -> None:
    text = (
        f"exceptions:\n  - rule: {RULE}\n    fields:\n      ParentImage|startswith: [c:\\backup]\n"
        "    hosts: [win-01]\n"
    )
    t = tuning(text)
    again = tuning(t.dump())
    assert again.exceptions == t.exceptions and again.exceptions[0].id == t.exceptions[0].id


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("exceptions: [", "not YAML"),
        ("rules: []", "one key, 'exceptions'"),
        ("exceptions:\n  - fields: {A: [b]}", "'rule' must be a rule id"),
        (f"exceptions:\n  - rule: {RULE}", "'fields' must map"),
        (f"exceptions:\n  - rule: {RULE}\n    fields: {{A|regex: [x]}}", "A|regex"),
        (f"exceptions:\n  - rule: {RULE}\n    fields: {{A: []}}", "needs 1 to"),
        (f"exceptions:\n  - rule: {RULE}\n    fields: {{A: [{{x: 1}}]}}", "strings or numbers"),
        (f"exceptions:\n  - rule: {RULE}\n    fields: {{A: [x]}}\n    owner: me", "'owner'"),
    ],
)
def test_bad_tuning_is_refused_with_the_reason(text: str, says: str) -> None:
    with pytest.raises(TuningError) as err:
        tuning(text)
    assert says in str(err.value) and "t.yaml" in str(err.value)


def test_scan_exclude_tunes_out_and_counts(tmp_path: Path) -> None:
    inputs, rules = hunt_dir(tmp_path)
    base = scan(inputs, "--no-builtin", "--rules", rules, "--format", "jsonl")
    restore = [f for f in base.findings() if f["finding_info"]["analytic"]["uid"] == RESTORE_ID]
    assert len(restore) == 4
    exclude = tmp_path / "tuning.yaml"
    exclude.write_text(
        f"exceptions:\n  - rule: {RESTORE_ID}\n    fields:\n"
        "      Image|endswith: ['\\reg.exe']\n      CommandLine|contains: [DisableConfig]\n"
    )
    tuned = scan(
        inputs, "--no-builtin", "--rules", rules, "--format", "jsonl", "--exclude", exclude
    )
    assert tuned.rc == 0, tuned.err
    ids = [f["finding_info"]["analytic"]["uid"] for f in tuned.findings()]
    kept = [f for f in tuned.findings() if f["finding_info"]["analytic"]["uid"] == RESTORE_ID]
    # only the DisableConfig commands are tuned out; DisableSR ones stay, as do other rules
    assert 0 < len(kept) < 4
    assert all(
        "DisableConfig" not in f["evidences"][0]["data"]["process"]["cmd_line"] for f in kept
    )
    assert ids.count(NETEXEC_ID) == [
        f["finding_info"]["analytic"]["uid"] for f in base.findings()
    ].count(NETEXEC_ID)
    assert f"{4 - len(kept):>6}  {RESTORE_ID}" in tuned.err
    assert "tuned out" in tuned.err


def test_scan_exclude_with_a_bad_file_is_a_usage_error(tmp_path: Path) -> None:
    inputs, rules = hunt_dir(tmp_path)
    bad = tmp_path / "t.yaml"
    bad.write_text("exceptions:\n  - rule: x\n")
    result = scan(inputs, "--rules", rules, "--exclude", bad)
    assert result.rc == 2 and "'fields' must map" in result.err
    assert len(result.err.strip().splitlines()) == 1 and result.out == ""
    missing = scan(inputs, "--rules", rules, "--exclude", tmp_path / "absent.yaml")
    assert missing.rc == 2 and "no such file" in missing.err
