"""What the sensor tells the collector about its host, at enrolment and in every Hello."""

from __future__ import annotations

import ipaddress
import platform
import socket
import sys
from pathlib import Path

import psutil

from aurora import __version__
from aurora.v1 import common_pb2

_MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


def _os_release() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform(terse=True)


def _machine_id() -> str:
    for path in _MACHINE_ID_FILES:
        try:
            value = path.read_text().strip()
        except OSError:
            continue
        if value:
            return value
    return ""


def ip_addresses() -> list[str]:
    """Non-loopback, non-link-local unicast addresses of every interface."""
    out: list[str] = []
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                ip = ipaddress.ip_address(addr.address.split("%", 1)[0])
            except ValueError:
                continue
            if not (ip.is_loopback or ip.is_link_local or ip.is_multicast):
                out.append(str(ip))
    return sorted(set(out))


def host_info() -> common_pb2.HostInfo:
    windows = sys.platform == "win32"
    return common_pb2.HostInfo(
        hostname=socket.gethostname(),
        os_name="windows" if windows else "linux",
        os_version=platform.version() if windows else _os_release(),
        kernel_version=platform.release(),
        arch=platform.machine(),
        sensor_version=__version__,
        machine_id=_machine_id(),
        ip_addresses=ip_addresses(),
    )
