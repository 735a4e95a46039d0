"""Shared by the `aurora scan` output tests: a small multi-host hunt on recorded EVTX, run as a
real `aurora` process, and the same records read straight from the EVTX with `evtx`."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evtx import PyEvtxParser

REPO = Path(__file__).resolve().parents[2]
SIGMA = REPO.parent / "shared" / "data" / "sigma"
# Four rules of three levels, two computers, two channels' event ids (1 and 11).
CASES = (
    "process_creation/proc_creation_win_reg_system_restore_modification",
    "process_creation/proc_creation_win_cmd_rmdir_execution",
    "process_creation/proc_creation_win_certutil_encode",
    "file/file_event/file_event_win_hktl_netexec_file_indicators",
)
RESTORE_ID = "7c06ab9b-b1d2-4ba9-b06e-09491ded20d9"
NETEXEC_ID = "efc21479-9e83-41da-8cf1-122e06ba8db3"


@dataclass
class Scan:
    rc: int
    out: str
    err: str

    def rows(self) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(self.out)))

    def findings(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines()]


def hunt_dir(tmp: Path) -> tuple[Path, Path]:
    """Copies of the cases' EVTX files and their rules: (inputs, rules)."""
    inputs, rules = tmp / "in", tmp / "rules"
    inputs.mkdir()
    rules.mkdir()
    for case in CASES:
        for evtx in (SIGMA / "regression_data" / "rules" / "windows" / case).glob("*.evtx"):
            shutil.copy(evtx, inputs)
        shutil.copy(SIGMA / "rules" / "windows" / f"{case}.yml", rules)
    return inputs, rules


def scan(*args: str | Path) -> Scan:
    proc = subprocess.run(
        [sys.executable, "-m", "aurora", "scan", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Scan(proc.returncode, proc.stdout, proc.stderr)


def evtx_records(path: Path) -> dict[int, dict[str, Any]]:
    """EventRecordID (the System element's, which Event Viewer shows) -> the record's System
    element, as the evtx library reads it."""
    out: dict[int, dict[str, Any]] = {}
    for record in PyEvtxParser(str(path)).records_json():
        system = json.loads(record["data"])["Event"]["System"]
        out[int(system["EventRecordID"])] = system
    return out
