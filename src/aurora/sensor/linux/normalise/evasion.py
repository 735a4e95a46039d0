"""Escape-family records about a process changing what it is or how it runs -> OCSF: capability
sets changed (Process Activity, Set User ID: part of the credentials, as setuid is), a process
renaming itself (Process Activity, Other "Rename"), memfd_create (Memory Activity, Allocate Page)
and io_uring rings and their opcodes (Kernel Activity: the ring created, an opcode invoked).
"""

from __future__ import annotations

from typing import Any

from aurora.ocsf.builders import KERNEL_ACTIVITY, MEMORY_ACTIVITY, PROCESS_ACTIVITY
from aurora.sensor.linux import escape_names as N
from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode_escape import Capset, Iouring, Memfd, Rename, decode
from aurora.sensor.linux.normalise.context import NormaliseContext, comm_text, text
from aurora.sensor.linux.normalise.registry import register

SET_USER_ID, OTHER, ALLOCATE_PAGE, CREATE, INVOKE = 5, 99, 1, 1, 4


@register(R.EV_CAPSET)
def capset(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Capset):
        return None
    h = e.hdr
    ev = ctx.base(PROCESS_ACTIVITY, SET_USER_ID, h.ts_ns)
    proc = ctx.process_with_ancestry(ctx.actor_proc(h))
    ev["actor"] = {"process": proc}
    ev["process"] = proc
    ev["unmapped"] = {
        "syscall": "capset",
        "uid": h.uid,
        # The name at the call: a privilege-dropping tool sets its sets just before it execs
        # the program it runs, whose exec the process table may already show.
        "comm": comm_text(h.comm),
        "euid": e.euid,
        "cap_effective": N.capability_names(e.effective),
        "cap_permitted": N.capability_names(e.permitted),
        "cap_inheritable": N.capability_names(e.inheritable),
        # Capabilities held in a user namespace of one's own give no power over the host.
        "user_ns": e.user_ns,
        "user_ns_is_host": e.user_ns == N.host_namespaces_cached().get("user"),
    }
    return ev


@register(R.EV_RENAME)
def rename(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Rename):
        return None
    h = e.hdr
    p = ctx.actor_proc(h)
    ev = ctx.base(PROCESS_ACTIVITY, OTHER, h.ts_ns)
    ev["activity_name"] = "Rename"
    ev["actor"] = {"process": ctx.proc_obj(p)}
    new_name = comm_text(e.new_name)
    p.name = new_name
    p.changed()
    ev["process"] = ctx.process_with_ancestry(p)
    ev["unmapped"] = {"syscall": "prctl", "old_name": comm_text(h.comm), "new_name": new_name}
    return ev


@register(R.EV_MEMFD)
def memfd(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Memfd):
        return None
    h = e.hdr
    ev = ctx.base(MEMORY_ACTIVITY, ALLOCATE_PAGE, h.ts_ns)
    proc = ctx.process_with_ancestry(ctx.actor_proc(h))
    ev["actor"] = {"process": proc}
    ev["process"] = proc
    ev["unmapped"] = {
        "syscall": "memfd_create",
        "memfd_name": text(e.name),
        "memfd_flags": N.flag_names(e.flags, N.MEMFD_FLAGS),
        # Without MFD_NOEXEC_SEAL the memfd can be executed (fileless execution's first step).
        "memfd_executable": not e.flags & 8,
    }
    return ev


@register(R.EV_IOURING)
def io_uring(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Iouring):
        return None
    h = e.hdr
    setup = e.op == R.IOURING_OP_SETUP
    ev = ctx.base(KERNEL_ACTIVITY, CREATE if setup else INVOKE, h.ts_ns)
    ev["actor"] = ctx.actor(h)
    if setup:
        ev["kernel"] = {
            "name": "io_uring",
            "type_id": 99,
            "type": "io_uring",
            "system_call": "io_uring_setup",
        }
        ev["unmapped"] = {
            "io_uring_fd": e.fd,
            "sq_entries": e.sq_entries,
            "cq_entries": e.cq_entries,
            "setup_flags": e.setup_flags,
            # IORING_SETUP_SQPOLL: a kernel thread submits, no syscall per request at all.
            "sqpoll": bool(e.setup_flags & 2),
        }
    else:
        op = text(e.op_name) or str(e.opcode)
        ev["kernel"] = {
            "name": op,
            "type_id": 99,
            "type": "io_uring_op",
            "system_call": "io_uring_enter",
        }
        ev["unmapped"] = {"io_uring_opcode": e.opcode, "sq_thread": bool(e.sq_thread)}
    return ev
