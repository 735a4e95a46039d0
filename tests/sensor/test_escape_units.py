"""The escape family's user-space half without a kernel: record decoding (short and hostile
records refused), the names given to flags, capabilities and errors, and the OCSF events the
normalisers build, validated against the 1.8.0 schema."""

from __future__ import annotations

import ctypes
from typing import Any

import pytest

from aurora.ocsf.schema import OcsfSchema
from aurora.sensor.linux import escape_names as N
from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode_escape import Mount, Ns, decode
from aurora.sensor.linux.normalise import Normaliser
from aurora.sensor.linux.proctable import ProcessTable


def record(rec: type[ctypes.Structure], kind: int, **fields: Any) -> bytes:
    r = rec()
    r.hdr.kind, r.hdr.pid, r.hdr.tid, r.hdr.ppid = kind, 4242, 4242, 1
    r.hdr.ts_ns, r.hdr.start_ns, r.hdr.comm = 10**9, 10**8, b"tool"
    for name, value in fields.items():
        setattr(r, name, value)
    return bytes(r)


def test_every_escape_record_decodes_and_a_short_one_is_refused() -> None:
    data = record(R.MountEvent, R.EV_MOUNT, ret=-1, source=b"/", target=b"/mnt", fstype=b"none")
    m = decode(data)
    assert isinstance(m, Mount) and m.ret == -1 and m.source == b"/" and m.target == b"/mnt"
    assert decode(data[:-1]) is None
    ns = decode(record(R.NsEvent, R.EV_NS, fd=-1, flags=0x10020000))
    assert isinstance(ns, Ns) and ns.fd == -1 and ns.flags == 0x10020000
    for kind, rec in ((R.EV_CAPSET, R.CapsetEvent), (R.EV_RENAME, R.RenameEvent)):
        assert decode(record(rec, kind)) is not None
    assert decode(record(R.ExitEvent, R.EV_EXIT)) is None  # another family's kind


def test_names_of_flags_capabilities_and_errors() -> None:
    assert N.flag_names(4096 | 16384, N.MOUNT_FLAGS) == "MS_BIND|MS_REC"
    assert N.flag_names(1 << 30 | 1, N.MOUNT_FLAGS) == "MS_RDONLY|0x40000000"
    assert N.capability_names(1 << 21 | 1 << 19) == ["cap_sys_ptrace", "cap_sys_admin"]
    assert N.capability_names(1 << 45) == ["cap_45"]
    assert N.namespace_names(0x10020000 | 0x80) == ["mnt", "user", "time"]
    assert N.errno_name(-1) == "EPERM" and N.errno_name(-4095) == "-4095"


@pytest.fixture
def normaliser() -> Normaliser:
    return Normaliser(ProcessTable(), hash_max_bytes=0)


def test_events_are_valid_ocsf(normaliser: Normaliser, schema: OcsfSchema) -> None:
    records = [
        record(R.NsEvent, R.EV_NS, op=R.NS_OP_UNSHARE, flags=0x10020000),
        record(
            R.NsEvent, R.EV_NS, op=R.NS_OP_SETNS, fd=3, target_inum=7, own_inum=8, ns_type=0x20000
        ),
        record(R.NsEvent, R.EV_NS, op=R.NS_OP_SETNS, fd=3, target_pid=1, flags=0x20000),
        record(
            R.MountEvent,
            R.EV_MOUNT,
            op=R.MOUNT_OP_MOUNT,
            source=b"cgroup",
            target=b"/x",
            fstype=b"cgroup",
            ret=-13,
        ),
        record(R.MountEvent, R.EV_MOUNT, op=R.MOUNT_OP_PIVOT_ROOT, source=b".", target=b"old"),
        record(R.CapsetEvent, R.EV_CAPSET, effective=1 << 21, euid=1000),
        record(R.RenameEvent, R.EV_RENAME, new_name=b"kworker/0:1"),
        record(R.MemfdEvent, R.EV_MEMFD, name=b"x", flags=9),
        record(R.IouringEvent, R.EV_IOURING, op=R.IOURING_OP_SETUP, fd=5, setup_flags=2),
        record(R.IouringEvent, R.EV_IOURING, op=R.IOURING_OP_SUBMIT, opcode=18, op_name=b"OPENAT"),
        record(R.ReleaseAgentEvent, R.EV_RELEASE_AGENT, path=b"/x/release_agent", path_len=16),
    ]
    events = [normaliser.normalise(r) for r in records]
    for ev in events:
        assert ev is not None
        assert schema.validate(ev) == [], ev
    unshare, setns, pidfd, mount, pivot, capset, rename, memfd, ring, op, agent = events
    assert unshare["unmapped"]["new_user_namespace"] is True
    assert setns["unmapped"]["joins_other_namespace"] is True
    assert pidfd["kernel"]["name"] == "pidfd:1"
    assert pidfd["unmapped"]["target_is_host_namespace"] is True
    assert mount["status"] == "Failure" and mount["status_code"] == "EACCES"
    assert pivot["file"]["path"] == "." and pivot["unmapped"]["put_old"] == "old"
    assert capset["unmapped"]["cap_effective"] == ["cap_sys_admin"]
    assert rename["process"]["name"] == "kworker/0:1"
    assert memfd["unmapped"]["memfd_executable"] is False
    assert ring["unmapped"]["sqpoll"] is True and op["kernel"]["name"] == "OPENAT"
    assert agent["file"]["name"] == "release_agent"


def test_a_truncated_escape_record_is_dropped_not_raised(normaliser: Normaliser) -> None:
    data = record(R.MountEvent, R.EV_MOUNT)
    assert normaliser.normalise(data[: ctypes.sizeof(R.EvHdr) + 4]) is None


def test_a_route_shared_by_categories_resolves_each_ones_fields() -> None:
    from aurora.ocsf.field_mapping import default_mapping

    mapping = default_mapping()
    route = mapping.linux_route(1003, 1)
    assert {"bpf_program_load", "namespace_change", "io_uring"} <= set(route.categories)
    assert route.path("ProgramType") == "unmapped.bpf_prog_type"
    assert route.path("SystemCall") == "kernel.system_call"
    assert route.path("Namespaces") == "unmapped.namespaces"
    assert route.path("NoSuchField") == "unmapped.NoSuchField"
    rename = mapping.linux_route(1007, 99)
    assert rename.path("NewName") == "unmapped.new_name"
    assert rename.path("TamperCheck") == "unmapped.tamper.check"
