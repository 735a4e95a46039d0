"""`aurora scan` end to end on real EVTX and JSON inputs, including the error paths."""

from __future__ import annotations

import csv
import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from aurora.cli.main import main

REPO = Path(__file__).resolve().parents[2]
SIGMA = REPO.parent / "shared" / "data" / "sigma"
CASE = "rules/windows/process_creation/proc_creation_win_reg_system_restore_modification"
CASE_RULE = "rules/windows/process_creation/proc_creation_win_reg_system_restore_modification.yml"
CASE_ID = "7c06ab9b-b1d2-4ba9-b06e-09491ded20d9"
LINUX_EVENTS = REPO / "tests" / "data" / "linux_events"

pytestmark = pytest.mark.shared_data


def evtx_of(case: str) -> Path:
    return next((SIGMA / "regression_data" / case).glob("*.evtx"))


def test_scan_jsonl_writes_detection_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "findings.jsonl"
    rc = main(
        [
            "scan",
            str(evtx_of(CASE)),
            "--rules",
            str(SIGMA / CASE_RULE),
            "--format",
            "jsonl",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 4
    assert {f["class_uid"] for f in lines} == {2004}
    assert {f["finding_info"]["analytic"]["uid"] for f in lines} == {CASE_ID}
    err = capsys.readouterr().err
    assert "| events          |            4 |" in err
    assert "| findings        |            4 |" in err
    assert "|   high          |            4 |" in err
    assert "events/s" in err


def test_scan_walks_directories_and_reads_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(SIGMA / "regression_data" / CASE, tmp_path / "in")
    (tmp_path / "in" / "nested").mkdir()
    lines = [
        json.dumps(e)
        for e in json.loads(
            (LINUX_EVENTS / "proc_creation_lnx_aurora_memfd_exec.json").read_text()
        )["positive"]
    ]
    (tmp_path / "in" / "nested" / "sensor.jsonl").write_text("\n".join(lines) + "\n")
    rc = main(["scan", str(tmp_path / "in"), "--rules", str(SIGMA / CASE_RULE), "--format", "csv"])
    assert rc == 0
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    # 4 from the EVTX, 4 from the same records as evtx JSON, one per memfd event (Aurora's pack)
    assert len(rows) == 8 + len(lines)
    assert {r["rule_id"] for r in rows} == {CASE_ID, "486c0771-fa71-4a9c-9e2b-20694d831496"}
    assert "| files           |            3 |" in captured.err


def test_table_output_and_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["scan", str(evtx_of(CASE)), "--rules", str(SIGMA / CASE_RULE), "--progress"])
    assert rc == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("TIME")
    assert captured.out.count("System Restore Registry Modification") == 4
    assert "100.0%" in captured.err


def two_chunk_evtx(tmp_path: Path) -> Path:
    """An EVTX whose first chunk is corrupt and whose second chunk holds the 4 case records."""
    other = next((SIGMA / "regression_data").rglob("file_event_win_hktl_netexec_file_indicators"))
    a = next(other.glob("*.evtx")).read_bytes()
    b = evtx_of(CASE).read_bytes()
    header = bytearray(a[:4096])
    struct.pack_into("<H", header, 42, 2)  # chunk count
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    bad = bytearray(a[4096 : 4096 + 65536])
    bad[612:912] = b"A" * 300
    path = tmp_path / "two.evtx"
    path.write_bytes(bytes(header) + bytes(bad) + b[4096 : 4096 + 65536])
    return path


def test_corrupt_chunk_is_reported_and_scan_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = two_chunk_evtx(tmp_path)
    rc = main(["scan", str(path), "--rules", str(SIGMA / CASE_RULE), "--format", "jsonl"])
    assert rc == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 4
    assert "Failed to parse chunk" in captured.err
    assert "| input errors    |            1 |" in captured.err


def test_bad_json_lines_are_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ev = json.loads((LINUX_EVENTS / "proc_creation_lnx_aurora_memfd_exec.json").read_text())
    src = tmp_path / "events.json"
    src.write_text("{not json\n" + json.dumps(ev["positive"][0]) + "\n[1]\n")
    assert main(["scan", str(src), "--format", "jsonl"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert "line 1: invalid JSON" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scan", "/nonexistent/x.evtx"], "no such file or directory"),
        (["scan", "{case}", "--rules", "/nonexistent/rules"], "does not exist"),
        (["scan", "{case}", "--out", "/nonexistent/dir/out.jsonl"], "cannot write"),
    ],
)
def test_scan_user_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.replace("{case}", str(evtx_of(CASE))) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("aurora: ") and message in err[0]


def test_scan_bad_format_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["scan", str(evtx_of(CASE)), "--format", "xml"])
    assert exc.value.code == 2


def test_json_array_and_pretty_printed_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ev = json.loads((LINUX_EVENTS / "proc_creation_lnx_aurora_memfd_exec.json").read_text())
    first = ev["positive"][0]
    (tmp_path / "a.json").write_text(json.dumps([first, first]))
    (tmp_path / "b.json").write_text(
        json.dumps(first, indent=2) + "\n" + "{\n  broken\n" + json.dumps(first, indent=2) + "\n"
    )
    assert main(["scan", str(tmp_path), "--format", "jsonl"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 4
    assert "b.json: line" in captured.err and "invalid JSON" in captured.err
