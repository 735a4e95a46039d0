"""Names for the numbers the escape family reports: namespace types, mount and memfd flags,
capabilities. Kept as tables so the normalisers and the docs say the same thing."""

from __future__ import annotations

import errno
import os
from functools import cache

# CLONE_NEW* bit -> the name /proc/PID/ns uses for that namespace.
NAMESPACES = {
    0x00020000: "mnt",
    0x02000000: "cgroup",
    0x04000000: "uts",
    0x08000000: "ipc",
    0x10000000: "user",
    0x20000000: "pid",
    0x40000000: "net",
    0x00000080: "time",
}
# In clone(2) the low byte is the exit signal, not CLONE_NEWTIME.
CLONE_NAMESPACE_BITS = 0x7E020000

MOUNT_FLAGS = {
    1: "MS_RDONLY",
    2: "MS_NOSUID",
    4: "MS_NODEV",
    8: "MS_NOEXEC",
    16: "MS_SYNCHRONOUS",
    32: "MS_REMOUNT",
    64: "MS_MANDLOCK",
    1024: "MS_NOATIME",
    2048: "MS_NODIRATIME",
    4096: "MS_BIND",
    8192: "MS_MOVE",
    16384: "MS_REC",
    1 << 17: "MS_UNBINDABLE",
    1 << 18: "MS_PRIVATE",
    1 << 19: "MS_SLAVE",
    1 << 20: "MS_SHARED",
}

MEMFD_FLAGS = {1: "MFD_CLOEXEC", 2: "MFD_ALLOW_SEALING", 4: "MFD_HUGETLB"}
MEMFD_FLAGS |= {8: "MFD_NOEXEC_SEAL", 16: "MFD_EXEC"}

CAPABILITIES = (
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
)


def flag_names(value: int, table: dict[int, str]) -> str:
    """``value``'s known bits as ``A|B``, with any unknown remainder in hex."""
    names = [name for bit, name in table.items() if value & bit]
    rest = value & ~sum(table)
    if rest:
        names.append(hex(rest))
    return "|".join(names)


def namespace_names(flags: int, mask: int = 0xFFFFFFFF) -> list[str]:
    return [name for bit, name in NAMESPACES.items() if flags & mask & bit]


def capability_names(bits: int) -> list[str]:
    out = [name for i, name in enumerate(CAPABILITIES) if bits >> i & 1]
    out.extend(f"cap_{i}" for i in range(len(CAPABILITIES), 64) if bits >> i & 1)
    return out


def errno_name(ret: int) -> str:
    """A syscall's negative return as its errno name (``EPERM``), or the number."""
    return errno.errorcode.get(-ret, str(ret))


@cache
def host_namespaces_cached() -> dict[str, int]:
    """:func:`host_namespaces`, read once per process (the host's namespaces do not change)."""
    return host_namespaces()


def host_namespaces() -> dict[str, int]:
    """Namespace name -> inode of the host's namespace of that type: PID 1's, or where PID 1 is
    not readable (a hardened init) the sensor's own, since the sensor runs in the host's."""
    out: dict[str, int] = {}
    for name in NAMESPACES.values():
        for pid in ("1", "self"):
            try:
                out[name] = os.stat(f"/proc/{pid}/ns/{name}").st_ino
                break
            except OSError:
                continue
    return out
