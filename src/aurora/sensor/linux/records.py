"""ctypes mirrors of the records in ``bpf/include/events.h``.

The C structs are the source of truth; tests/sensor/test_btf_layout.py compares every mirror here
(field names, offsets, sizes) with the BTF of the compiled objects.
"""

from __future__ import annotations

import ctypes as C

COMM_LEN = 16
FILENAME_MAX = 256
# The verifier's bound on an exec record's packed strings (bpf/include/events.h).
EXEC_STRINGS_MAX = 4096 + 8192
CGROUP_NAME_MAX = 128
TTY_NAME_MAX = 32
FILE_PATH_MAX = 1024
DNS_PAYLOAD_MAX = 512
MODULE_ARGS_MAX = 128
WATCH_RULES_MAX = 32
WATCH_PATTERN_MAX = 128
READ_RULES_MAX = 32
ANCHOR_MAX = 32

EV_EXEC, EV_FORK, EV_EXIT, EV_SETID, EV_PTRACE = 1, 2, 3, 4, 5
EV_NET, EV_DNS, EV_FILE, EV_KMOD, EV_BPF = 10, 20, 30, 40, 41
EV_DNS_TCP, EV_DNS_ANSWER, EV_DNS_TCP_ANSWER = 21, 22, 23

EXEC_F_ARGV_TRUNCATED = 1
EXEC_F_EXE_UNLINKED = 2
EXEC_F_EXE_TRUNCATED = 4
EXEC_F_CWD_TRUNCATED = 8

PTRACE_OP_ATTACH, PTRACE_OP_POKE, PTRACE_OP_VM_WRITEV = 1, 2, 3
NET_OP_CONNECT, NET_OP_ACCEPT, NET_OP_LISTEN, NET_OP_CONNECT_FAILED = 1, 2, 3, 4
FILE_OP_CREATE, FILE_OP_OPEN_WRITE, FILE_OP_DELETE = 1, 2, 3
FILE_OP_RENAME, FILE_OP_CHMOD, FILE_OP_CHOWN = 4, 5, 6
FILE_OP_OPEN_READ = 7
KMOD_OP_INIT, KMOD_OP_FINIT = 1, 2
WATCH_F_EXEC_ONLY = 1

u8, u16, u32, u64 = C.c_uint8, C.c_uint16, C.c_uint32, C.c_uint64


class EvHdr(C.Structure):
    _fields_ = [
        ("ts_ns", u64),
        ("cgroup_id", u64),
        ("start_ns", u64),
        ("kind", u32),
        ("pid", u32),
        ("tid", u32),
        ("ppid", u32),
        ("uid", u32),
        ("gid", u32),
        ("comm", C.c_char * COMM_LEN),
    ]


class ExecEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("exe_ino", u64),
        ("exe_mtime_ns", u64),
        ("exe_dev", u32),
        ("flags", u32),
        ("euid", u32),
        ("egid", u32),
        ("suid", u32),
        ("sgid", u32),
        ("loginuid", u32),
        ("sessionid", u32),
        ("old_pid", u32),
        ("exe_len", u16),
        ("cwd_len", u16),
        ("argv_len", u16),
        ("filename_len", u16),
        ("args_size", u32),
        ("tty", C.c_char * TTY_NAME_MAX),
        ("cgroup", C.c_char * CGROUP_NAME_MAX),
        # filename, exe, cwd and argv back to back, as long as their lengths above say.
        ("strings", C.c_char * EXEC_STRINGS_MAX),
    ]


class ForkEvent(C.Structure):
    _fields_ = [("hdr", EvHdr)]


class ExitEvent(C.Structure):
    _fields_ = [("hdr", EvHdr), ("exit_code", u32), ("_pad", u32)]


class SetidEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("syscall_nr", u32),
        ("euid", u32),
        ("suid", u32),
        ("fsuid", u32),
        ("egid", u32),
        ("sgid", u32),
        ("fsgid", u32),
        ("_pad", u32),
    ]


class PtraceEvent(C.Structure):
    _fields_ = [("hdr", EvHdr), ("request", u64), ("target_pid", u32), ("op", u32)]


class NetEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("family", u16),
        ("protocol", u16),
        ("sport", u16),
        ("dport", u16),
        ("op", u32),
        ("_pad", u32),
        ("saddr", u8 * 16),
        ("daddr", u8 * 16),
    ]


class DnsEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("family", u16),
        ("dport", u16),
        ("payload_len", u16),
        ("_pad", u16),
        ("daddr", u8 * 16),
        ("payload", u8 * DNS_PAYLOAD_MAX),
    ]


class FileEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("op", u32),
        ("open_flags", u32),
        ("mode", u32),
        ("owner_uid", u32),
        ("owner_gid", u32),
        ("path_len", u16),
        ("path2_len", u16),
        ("path", C.c_char * FILE_PATH_MAX),
        ("path2", C.c_char * FILE_PATH_MAX),
    ]


class KmodEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("op", u32),
        ("flags", u32),
        ("image_len", u64),
        ("path_len", u16),
        ("_pad", u16 * 3),
        ("args", C.c_char * MODULE_ARGS_MAX),
        ("path", C.c_char * FILE_PATH_MAX),
    ]


class BpfEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("cmd", u32),
        ("prog_type", u32),
        ("insn_cnt", u32),
        ("_pad", u32),
        ("prog_name", C.c_char * 16),
    ]


class ReadAnchor(C.Structure):
    _fields_ = [("name", C.c_char * ANCHOR_MAX)]


class WatchRule(C.Structure):
    _fields_ = [("len", u32), ("flags", u32), ("pattern", C.c_char * WATCH_PATTERN_MAX)]


# C struct name -> mirror, for the BTF layout test and the decoder table.
RECORDS: dict[str, type[C.Structure]] = {
    "ev_hdr": EvHdr,
    "exec_event": ExecEvent,
    "fork_event": ForkEvent,
    "exit_event": ExitEvent,
    "setid_event": SetidEvent,
    "ptrace_event": PtraceEvent,
    "net_event": NetEvent,
    "dns_event": DnsEvent,
    "file_event": FileEvent,
    "kmod_event": KmodEvent,
    "bpf_event": BpfEvent,
    "watch_rule": WatchRule,
    "read_anchor": ReadAnchor,
}

KIND_RECORD: dict[int, type[C.Structure]] = {
    EV_EXEC: ExecEvent,
    EV_FORK: ForkEvent,
    EV_EXIT: ExitEvent,
    EV_SETID: SetidEvent,
    EV_PTRACE: PtraceEvent,
    EV_NET: NetEvent,
    EV_DNS: DnsEvent,
    EV_DNS_TCP: DnsEvent,
    EV_DNS_ANSWER: DnsEvent,
    EV_DNS_TCP_ANSWER: DnsEvent,
    EV_FILE: FileEvent,
    EV_KMOD: KmodEvent,
    EV_BPF: BpfEvent,
}

_KIND_OFFSET = EvHdr.kind.offset
_SIZES = {kind: C.sizeof(rec) for kind, rec in KIND_RECORD.items()}


def decode(data: bytes) -> C.Structure | None:
    """The record in one ring-buffer sample; records sent short (exec) are zero-padded first."""
    if len(data) < C.sizeof(EvHdr):
        return None
    kind = int.from_bytes(data[_KIND_OFFSET : _KIND_OFFSET + 4], "little")
    rec = KIND_RECORD.get(kind)
    if rec is None:
        return None
    size = _SIZES[kind]
    if len(data) < size:
        data = data.ljust(size, b"\0")
    return rec.from_buffer_copy(data)


# ---- escape family (bpf/escape.bpf.c): namespaces, mounts, capabilities, renames, memfd,
# io_uring, release_agent writes. Kinds 60-79.
EV_NS, EV_MOUNT, EV_CAPSET, EV_RENAME = 60, 61, 62, 63
EV_MEMFD, EV_IOURING, EV_RELEASE_AGENT = 64, 65, 66
NS_OP_UNSHARE, NS_OP_SETNS, NS_OP_CLONE, NS_OP_CLONE3 = 1, 2, 3, 4
MOUNT_OP_MOUNT, MOUNT_OP_PIVOT_ROOT = 1, 2
IOURING_OP_SETUP, IOURING_OP_SUBMIT = 1, 2
MOUNT_STR_MAX = 256
FSTYPE_MAX = 32
MEMFD_NAME_MAX = 256
IOURING_OPNAME_MAX = 24


class NsEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("flags", u64),
        ("op", u32),
        ("ns_type", u32),
        ("target_inum", u32),
        ("own_inum", u32),
        ("target_pid", u32),
        ("fd", C.c_int32),
    ]


class MountEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("flags", u64),
        ("ret", C.c_int32),
        ("op", u32),
        ("mnt_ns", u32),
        ("_pad", u32),
        ("fstype", C.c_char * FSTYPE_MAX),
        ("source", C.c_char * MOUNT_STR_MAX),
        ("target", C.c_char * MOUNT_STR_MAX),
    ]


class CapsetEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("effective", u64),
        ("permitted", u64),
        ("inheritable", u64),
        ("euid", u32),
        ("user_ns", u32),
    ]


class RenameEvent(C.Structure):
    _fields_ = [("hdr", EvHdr), ("new_name", C.c_char * COMM_LEN)]


class MemfdEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("flags", u32),
        ("_pad", u32),
        ("name", C.c_char * MEMFD_NAME_MAX),
    ]


class IouringEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("op", u32),
        ("fd", C.c_int32),
        ("sq_entries", u32),
        ("cq_entries", u32),
        ("setup_flags", u32),
        ("opcode", u32),
        ("sq_thread", u32),
        ("_pad", u32),
        ("op_name", C.c_char * IOURING_OPNAME_MAX),
    ]


class ReleaseAgentEvent(C.Structure):
    _fields_ = [
        ("hdr", EvHdr),
        ("open_flags", u32),
        ("path_len", u16),
        ("_pad", u16),
        ("path", C.c_char * FILE_PATH_MAX),
    ]


_ESCAPE_RECORDS: dict[int, tuple[str, type[C.Structure]]] = {
    EV_NS: ("ns_event", NsEvent),
    EV_MOUNT: ("mount_event", MountEvent),
    EV_CAPSET: ("capset_event", CapsetEvent),
    EV_RENAME: ("rename_event", RenameEvent),
    EV_MEMFD: ("memfd_event", MemfdEvent),
    EV_IOURING: ("iouring_event", IouringEvent),
    EV_RELEASE_AGENT: ("release_agent_event", ReleaseAgentEvent),
}
for _kind, (_name, _rec) in _ESCAPE_RECORDS.items():
    RECORDS[_name] = _rec
    KIND_RECORD[_kind] = _rec
    _SIZES[_kind] = C.sizeof(_rec)
