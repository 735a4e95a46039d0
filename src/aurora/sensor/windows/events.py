"""One channel record -> the OCSF events the sensor sends: the normalised event, and for the
Defender channel the finding as well. Shared by the live sensor and replay."""

from __future__ import annotations

from typing import Any

from aurora.sensor.windows.defender import defender_finding, is_defender
from aurora.sensor.windows.normalise import normalise_record


def channel_events(record: dict[str, Any]) -> list[dict[str, Any]]:
    out = [normalise_record(record)]
    if is_defender(record):
        finding = defender_finding(record)
        if finding is not None:
            out.append(finding)
    return out
