"""The platform seam: the dispatcher picks each OS's module, and every module has the same names."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from aurora.config.response import ResponseConfig
from aurora.config.sensor import SensorConfig
from aurora.sensor import platform
from aurora.sensor.platform import linux, windows
from aurora.sensor.platform.contract import PLATFORM_FUNCTIONS, Platform
from aurora.sensor.response.errors import UnsupportedPlatform
from aurora.sensor.response.isolation_linux import NftIsolation
from aurora.sensor.response.isolation_windows import WfpIsolation
from aurora.sensor.source import NoEventSource

MODULES = {"linux": linux, "windows": windows}


@pytest.mark.parametrize(
    ("sys_platform", "expected"),
    [("linux", "linux"), ("win32", "windows"), ("cygwin", "windows"), ("darwin", "windows")],
)
def test_dispatcher_picks_the_module_of_the_running_os(
    monkeypatch: pytest.MonkeyPatch, sys_platform: str, expected: str
) -> None:
    monkeypatch.setattr(platform.sys, "platform", sys_platform)
    assert platform.current() is MODULES[expected]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_platform_module_exposes_the_same_names(module: str) -> None:
    mod = MODULES[module]
    assert sorted(mod.__all__) == sorted(PLATFORM_FUNCTIONS)
    protocol_members = {n for n, _ in inspect.getmembers(Platform) if not n.startswith("_")}
    assert protocol_members == set(PLATFORM_FUNCTIONS)
    for name in PLATFORM_FUNCTIONS:
        ours = inspect.signature(getattr(mod, name))
        wanted = inspect.signature(getattr(Platform, name))
        assert list(ours.parameters) == [p for p in wanted.parameters if p != "self"], name


def test_isolation_backend_per_platform() -> None:
    config = ResponseConfig()
    assert isinstance(linux.isolation_backend(config), NftIsolation)
    assert isinstance(windows.isolation_backend(config), WfpIsolation)


def test_windows_reports_typed_unsupported(tmp_path: Path) -> None:
    with pytest.raises(NoEventSource, match="Windows"):
        windows.event_source(SensorConfig())
    with pytest.raises(UnsupportedPlatform):
        windows.kill_process(1, None, False, 10, 2)
    with pytest.raises(UnsupportedPlatform):
        windows.collect_triage(tmp_path, [], 1 << 20, 1 << 20, "zstd")
    vault = windows.quarantine_vault(tmp_path / "q", [])
    with pytest.raises(UnsupportedPlatform):
        vault.quarantine(str(tmp_path / "x"))
    with pytest.raises(UnsupportedPlatform):
        vault.restore("0" * 32)
