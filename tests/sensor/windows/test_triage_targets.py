"""Windows triage targets are data: the built-in set loads, names what the issue asks for, and
expands per host and per user profile; a bad definition is refused with the place named."""

from __future__ import annotations

import pytest

from aurora.sensor.response.errors import ArtifactError
from aurora.sensor.windows.triage_targets import builtin_targets, expand, parse_targets

ENV = {"SystemRoot": "C:\\Windows", "SystemDrive": "C:", "ProgramData": "C:\\ProgramData"}


def test_builtin_targets_cover_the_kape_basics() -> None:
    names = {t.name for t in builtin_targets()}
    assert {
        "EventLogs",
        "Prefetch",
        "Amcache",
        "RegistryHivesSystem",
        "RegistryHivesUser",
        "ScheduledTasks",
        "PowerShellHistory",
    } <= names


def test_expansion_per_host_and_per_profile() -> None:
    targets = {t.name: t for t in builtin_targets()}
    assert expand(targets["Prefetch"], ENV, []) == ["C:\\Windows\\Prefetch\\*.pf"]
    history = expand(targets["PowerShellHistory"], ENV, ["C:\\Users\\alice", "C:\\Users\\bob"])
    assert history == [
        f"C:\\Users\\{u}\\AppData\\Roaming\\Microsoft\\Windows\\PowerShell\\PSReadLine"
        "\\ConsoleHost_history.txt"
        for u in ("alice", "bob")
    ]
    assert expand(targets["PowerShellHistory"], ENV, []) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("targets: 3", "expected a mapping"),
        ("targets: [{name: X1x, category: nope, paths: [a]}]", "category must be one of"),
        ("targets: [{name: Abc, category: execution, paths: ['%Temp%\\\\x']}]", "%Temp%"),
        ("targets: [{name: Abc, category: execution, paths: ['C:\\\\..\\\\x']}]", "'..'"),
        ("targets: [{name: Abc, category: execution, paths: [a], extra: 1}]", "'extra'"),
        (
            "targets: [{name: Abc, category: execution, paths: [a]},"
            " {name: Abc, category: execution, paths: [b]}]",
            "defined twice",
        ),
    ],
)
def test_bad_definitions_are_refused_with_the_place_named(text: str, message: str) -> None:
    with pytest.raises(ArtifactError, match=r"custom\.yaml") as info:
        parse_targets(text, "custom.yaml")
    assert message in str(info.value)
