"""The field-mapping data file: validation and the rendered documentation page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from aurora.detection.mapping_doc import render
from aurora.ocsf.field_mapping import MAPPING_FILE, MappingError, parse_mapping

DOC = Path(__file__).resolve().parents[2] / "docs" / "field-mapping.md"


def test_shipped_mapping_parses_and_covers_required_logsources() -> None:
    m = parse_mapping(yaml.safe_load(MAPPING_FILE.read_text()))
    linux = {c.name for c in m.linux_categories}
    assert {
        "process_creation",
        "network_connection",
        "file_event",
        "file_delete",
        "file_rename",
        "dns_query",
        "driver_load",
        "bpf_program_load",
    } <= linux
    windows = {c.name for c in m.windows_categories}
    assert {
        "process_creation",
        "network_connection",
        "image_load",
        "create_remote_thread",
        "process_access",
        "file_event",
        "file_delete",
        "registry_set",
        "registry_event",
        "dns_query",
        "pipe_created",
        "wmi_event",
        "driver_load",
        "ps_script",
    } <= windows
    assert {"security", "system", "powershell", "sysmon"} <= set(m.windows_services)


def test_field_mapping_doc_is_current() -> None:
    text = render()
    if os.environ.get("AURORA_UPDATE_GOLDEN") == "1":
        DOC.write_text(text)
    assert DOC.read_text() == text, (
        "docs/field-mapping.md is stale: run "
        "`python -m aurora.detection.mapping_doc > docs/field-mapping.md`"
    )


def _doc(**linux_cat: Any) -> dict[str, Any]:
    return {"version": 1, "linux": {"categories": {"x": linux_cat}}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"version": 2}, "version: 1"),
        (_doc(fields={}), "needs an `ocsf` table"),
        (_doc(ocsf={"class_uid": 1, "activity_id": "a"}), "activity_id"),
        (_doc(ocsf={"class_uid": 1, "activity_id": 1}, fields={"A": 3}), "path or a list"),
        (
            _doc(ocsf={"class_uid": 1, "activity_id": 1}, fields={"A": "p", "B": "p"}),
            "both map to p",
        ),
        (
            {
                "version": 1,
                "windows": {"categories": {"x": {"ocsf": {"class_uid": 1, "activity_id": 1}}}},
            },
            "need `channel` and `event_ids`",
        ),
    ],
)
def test_bad_mapping_is_rejected_with_the_entry_named(data: Any, message: str) -> None:
    with pytest.raises(MappingError) as exc:
        parse_mapping(data)
    assert message in str(exc.value)
