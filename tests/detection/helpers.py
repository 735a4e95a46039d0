"""Build rules and events for detection tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aurora.config.detection import DetectionConfig
from aurora.detection import DetectionEngine
from aurora.sensor.windows import normalise_record

DATA = Path(__file__).resolve().parent.parent / "data"
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def sysmon(event_id: int = 1, channel: str = SYSMON, **fields: Any) -> dict[str, Any]:
    """A Windows record as the evtx reader yields it, normalised to OCSF."""
    record = {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": event_id,
                "Channel": channel,
                "Computer": "win-01",
                "TimeCreated": {"#attributes": {"SystemTime": "2026-11-21T10:00:00.000000Z"}},
            },
            "EventData": fields,
        }
    }
    return normalise_record(record)


def rule(
    detection: str,
    logsource: str = "product: windows\n    category: process_creation",
    rid: str = "00000000-0000-0000-0000-000000000001",
    extra: str = "",
) -> str:
    """A minimal rule document around a detection block (indented 4 spaces)."""
    return (
        f"title: Test rule {rid[-4:]}\nid: {rid}\nstatus: test\nlevel: high\n"
        f"tags:\n    - attack.execution\n    - attack.t1059.001\n"
        f"logsource:\n    {logsource}\ndetection:\n{detection}\n{extra}"
    )


def engine(*docs: str, **config: Any) -> DetectionEngine:
    eng = DetectionEngine.from_yaml(*docs, config=DetectionConfig(**config))
    assert not eng.errors, [str(e) for e in eng.errors]
    return eng


def fired(eng: DetectionEngine, event: dict[str, Any]) -> list[str]:
    return [f.rule.id for f in eng.match(event)]


def golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "linux_events" / f"{name}.json").read_text())
    return data
