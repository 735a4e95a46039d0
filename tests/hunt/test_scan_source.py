"""Each `aurora scan` finding says where it came from and why it fired, in every format."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from tests.hunt.scan_support import NETEXEC_ID, evtx_records, hunt_dir, scan

pytestmark = pytest.mark.shared_data


def _iso_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_csv_columns_match_the_evtx_record(tmp_path: Path) -> None:
    inputs, rules = hunt_dir(tmp_path)
    result = scan(inputs, "--rules", rules, "--no-builtin", "--format", "csv")
    assert result.rc == 0, result.err
    rows = result.rows()
    assert len(rows) == 13
    for row in rows:
        system = evtx_records(Path(row["file"]))[int(row["record_id"])]
        assert row["computer"] == system["Computer"]
        assert row["channel"] == system["Channel"]
        assert row["event_id"] == str(system["EventID"])
        assert _iso_ms(row["time"]) == _iso_ms(system["TimeCreated"]["#attributes"]["SystemTime"])
        assert Path(row["file"]).parent == inputs
        assert row["matched"] and row["technique"].startswith("T")


def test_jsonl_finding_carries_source_and_matched_fields(tmp_path: Path) -> None:
    inputs, rules = hunt_dir(tmp_path)
    result = scan(inputs, "--rules", rules, "--no-builtin", "--format", "jsonl")
    assert result.rc == 0, result.err
    netexec = [f for f in result.findings() if f["finding_info"]["analytic"]["uid"] == NETEXEC_ID]
    assert len(netexec) == 7
    for finding in netexec:
        source = finding["unmapped"]["source"]
        system = evtx_records(Path(source["file"]))[source["record_id"]]
        assert finding["metadata"]["log_name"] == system["Channel"] == source["channel"]
        assert finding["metadata"]["log_source"] == source["file"]
        assert finding["device"]["hostname"] == system["Computer"] == source["computer"]
        assert source["event_id"] == "11"
        # the evidence is the event itself, which keeps the record id where OCSF puts it
        assert finding["evidences"][-1]["data"]["metadata"]["uid"] == str(source["record_id"])
        matched = {m["field"]: m for m in finding["unmapped"]["matched_fields"]}
        target = finding["evidences"][-1]["data"]["unmapped"]["TargetFilename"]
        assert matched["TargetFilename"]["value"] == target
        assert matched["TargetFilename"]["path"] == "file.path"


def test_table_shows_source_columns(tmp_path: Path) -> None:
    inputs, rules = hunt_dir(tmp_path)
    result = scan(inputs, "--rules", rules, "--no-builtin")
    assert result.rc == 0, result.err
    header, *lines = result.out.splitlines()
    for column in ("TIME", "LEVEL", "RULE", "COMPUTER", "CHANNEL", "EVENT", "RECORD", "FILE"):
        assert column in header
    assert len(lines) == 13
    assert sum("ar-win-dc.attackrange.local" in line for line in lines) == 2
    assert all("Microsoft-Windows-Sysmon/Operational" in line for line in lines)
    assert all("=" in line.split(".evtx", 1)[1] for line in lines)  # matched Field=value


def test_json_lines_use_line_numbers_when_records_have_no_id(tmp_path: Path) -> None:
    inputs, rules = hunt_dir(tmp_path)
    first = scan(inputs, "--rules", rules, "--no-builtin", "--format", "jsonl").findings()[0]
    event = first["evidences"][-1]["data"]
    del event["metadata"]["uid"]
    log = tmp_path / "ocsf.jsonl"
    log.write_text("\n" + json.dumps({"class_uid": 0}) + "\n" + json.dumps(event) + "\n")
    result = scan(log, "--rules", rules, "--no-builtin", "--format", "csv")
    assert result.rc == 0, result.err
    (row,) = result.rows()
    assert (row["file"], row["record_id"]) == (str(log), "3")
    assert row["computer"] == event["device"]["hostname"]


def test_odd_json_shapes_do_not_stop_the_scan(tmp_path: Path) -> None:
    log = tmp_path / "odd.jsonl"
    memfd = {"cmd_line": "x", "file": {"path": "/tmp/.x/memfd:y (deleted)"}}
    odd = [
        {"class_uid": 1007, "activity_id": 1, "metadata": 5, "device": "x", "time": "soon"},
        {"class_uid": 1007, "activity_id": 1, "metadata": {"uid": []}, "device": {"hostname": []}},
    ]
    log.write_text("\n".join(json.dumps({**o, "process": memfd}) for o in odd) + "\n")
    result = scan(log, "--format", "csv")
    assert result.rc == 0, result.err
    rows = result.rows()
    assert rows and {r["record_id"] for r in rows} == {"1", "2"}
    assert {r["time"] for r in rows} == {""}
    assert "first seen: -" in result.err
