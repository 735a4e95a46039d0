"""Probe the running kernel before loading anything: version floor, BTF, tracefs.

Ring buffers arrived in 5.8 and CO-RE needs the kernel's BTF, so below that floor (or without
``/sys/kernel/btf/vmlinux``) the sensor refuses to start with a typed, one-line error instead of a
verifier dump.
"""

from __future__ import annotations

import ctypes
import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

from aurora.errors import AuroraError

MIN_KERNEL_VERSION: tuple[int, int] = (5, 8)
BTF_PATH = Path("/sys/kernel/btf/vmlinux")
TRACEFS = Path("/sys/kernel/tracing")


class KernelTooOld(AuroraError):
    """The running kernel is below MIN_KERNEL_VERSION."""


class NoBtf(AuroraError):
    """The kernel exposes no BTF, so CO-RE objects cannot be relocated."""


class TracefsUnavailable(AuroraError):
    """tracefs is not mounted and could not be mounted."""


@dataclass(frozen=True)
class KernelInfo:
    release: str
    version: tuple[int, int]
    btf: bool

    @classmethod
    def probe_running_kernel(
        cls, release: str | None = None, btf_path: Path = BTF_PATH
    ) -> KernelInfo:
        """Describe this kernel; raise KernelTooOld / NoBtf when the sensor cannot run on it."""
        release = release or platform.release()
        m = re.match(r"(\d+)\.(\d+)", release)
        if not m:
            raise KernelTooOld(f"cannot parse kernel release {release!r}")
        info = cls(release, (int(m.group(1)), int(m.group(2))), btf_path.is_file())
        floor = ".".join(map(str, MIN_KERNEL_VERSION))
        if info.version < MIN_KERNEL_VERSION:
            raise KernelTooOld(
                f"kernel {release} is too old: the eBPF sensor needs Linux {floor} or later"
            )
        if not info.btf:
            raise NoBtf(
                f"kernel {release} has no BTF ({btf_path} missing): "
                "the eBPF sensor needs a kernel built with CONFIG_DEBUG_INFO_BTF=y"
            )
        return info


def ensure_tracefs(mountpoint: Path = TRACEFS) -> Path:
    """Mount tracefs at ``mountpoint`` when it is not mounted; return the mountpoint."""
    if (mountpoint / "events").is_dir():
        return mountpoint
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.mount(b"tracefs", str(mountpoint).encode(), b"tracefs", 0, None)
    if rc != 0 and not (mountpoint / "events").is_dir():
        err = ctypes.get_errno()
        raise TracefsUnavailable(
            f"cannot mount tracefs at {mountpoint}: {os.strerror(err)} (run the sensor as root)"
        )
    return mountpoint
