"""Every Windows module imports on Linux (no DLL is opened at import, no Windows-only module)."""

from __future__ import annotations

import importlib
import pkgutil

import aurora.sensor.windows as windows_pkg


def all_windows_modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.walk_packages(windows_pkg.__path__, prefix="aurora.sensor.windows.")
    )


def test_every_windows_module_imports() -> None:
    names = all_windows_modules()
    assert "aurora.sensor.windows.ffi.etw_structs" in names
    assert "aurora.sensor.windows.etw_session" in names
    for name in [*names, "aurora.sensor.platform.windows"]:
        importlib.import_module(name)


def test_the_service_needs_pywin32_and_says_so_off_windows() -> None:
    import pytest

    from aurora.sensor.windows import service

    with pytest.raises(service.ServiceUnavailable, match="pywin32"):
        service.service_class()
    assert (1, 60_000) in service.RECOVERY_ACTIONS  # what the guard's recovery check wants
    from aurora.sensor.windows.guard import recovery_configured

    assert recovery_configured(service.RECOVERY_ACTIONS).healthy
