"""The sensor as a Windows service (pywin32's ``ServiceFramework``), imported only on Windows.

``python -m aurora.sensor.windows.service install|start|stop|remove`` manages it through
``win32serviceutil``; the service runs the same agent as ``aurora sensor`` and stops it on the
SCM's stop request. Installing also sets recovery actions (restart after 1 minute, twice), which
the guard checks are still in place.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Any

from aurora.errors import AuroraError

SERVICE_NAME = "AuroraSensor"
DISPLAY_NAME = "Aurora EDR sensor"
# SC_ACTION_RESTART (1) after 60 s, twice, then nothing; the failure count resets daily.
RECOVERY_ACTIONS = [(1, 60_000), (1, 60_000), (0, 0)]
RESET_PERIOD_S = 86_400


class ServiceUnavailable(AuroraError):
    """The Windows service support (pywin32) is not installed here."""


def _pywin32() -> tuple[Any, Any, Any]:
    try:
        # By name: pywin32 exists only in the Windows wheelhouse, and these are its module names.
        manager: Any = importlib.import_module("servicemanager")
        service: Any = importlib.import_module("win32service")
        util: Any = importlib.import_module("win32serviceutil")
    except ImportError:
        raise ServiceUnavailable(
            "the Windows service needs pywin32 (in the Windows wheelhouse); "
            "run `aurora sensor` in the foreground instead"
        ) from None
    return manager, service, util


def service_class() -> type:
    """Build the ServiceFramework subclass (pywin32 is imported here, not at module import)."""
    servicemanager, win32service, win32serviceutil = _pywin32()

    framework: Any = win32serviceutil.ServiceFramework

    class AuroraSensorService(framework):  # type: ignore[misc]
        _svc_name_ = SERVICE_NAME
        _svc_display_name_ = DISPLAY_NAME
        _svc_description_ = "Streams Windows telemetry to the Aurora collector and runs responses."

        def __init__(self, args: Any) -> None:
            super().__init__(args)
            self.agent: Any = None

        def SvcStop(self) -> None:
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING)
            if self.agent is not None:
                self.agent.stop()

        def SvcDoRun(self) -> None:
            from aurora.config import load_config
            from aurora.sensor import platform
            from aurora.sensor.agent import Agent

            servicemanager.LogInfoMsg(f"{SERVICE_NAME} starting")
            config = load_config(None)
            self.agent = Agent(config, platform.current().event_source(config.sensor))
            self.agent.run()

    # pythonservice.exe imports the class by this dotted name (see the end of this module).
    AuroraSensorService.__qualname__ = "AuroraSensorService"
    return AuroraSensorService


def set_recovery(win32service: Any) -> None:
    """Restart the service when it dies (the guard reports it if someone removes this)."""
    scm = win32service.OpenSCManager(None, None, win32service.SC_MANAGER_ALL_ACCESS)
    try:
        svc = win32service.OpenService(scm, SERVICE_NAME, win32service.SERVICE_ALL_ACCESS)
        try:
            win32service.ChangeServiceConfig2(
                svc,
                win32service.SERVICE_CONFIG_FAILURE_ACTIONS,
                {
                    "ResetPeriod": RESET_PERIOD_S,
                    "RebootMsg": None,
                    "Command": None,
                    "Actions": RECOVERY_ACTIONS,
                },
            )
        finally:
            win32service.CloseServiceHandle(svc)
    finally:
        win32service.CloseServiceHandle(scm)


def recovery_actions(win32service: Any = None) -> list[tuple[int, int]]:
    """The service's failure actions as (SC_ACTION type, delay ms); [] if it is not installed."""
    if win32service is None:
        win32service = _pywin32()[1]
    scm = win32service.OpenSCManager(None, None, win32service.SC_MANAGER_CONNECT)
    try:
        try:
            svc = win32service.OpenService(scm, SERVICE_NAME, win32service.SERVICE_QUERY_CONFIG)
        except Exception:  # pywintypes.error: not installed (the sensor runs in the foreground)
            return []
        try:
            config = win32service.QueryServiceConfig2(
                svc, win32service.SERVICE_CONFIG_FAILURE_ACTIONS
            )
        finally:
            win32service.CloseServiceHandle(svc)
    finally:
        win32service.CloseServiceHandle(scm)
    return [(int(kind), int(delay)) for kind, delay in (config.get("Actions") or [])]


def main(argv: list[str]) -> int:
    _, win32service, win32serviceutil = _pywin32()
    win32serviceutil.HandleCommandLine(
        service_class(), serviceClassString=f"{__name__}.AuroraSensorService", argv=argv
    )
    if "install" in argv[1:]:
        set_recovery(win32service)
    return 0


if sys.platform == "win32":
    # The service host imports ``aurora.sensor.windows.service.AuroraSensorService``; it must
    # exist at module level there. Off Windows (and without pywin32) it is never built.
    with contextlib.suppress(ServiceUnavailable):
        AuroraSensorService = service_class()

if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except AuroraError as exc:
        print(f"aurora: {exc}", file=sys.stderr)
        sys.exit(2)
