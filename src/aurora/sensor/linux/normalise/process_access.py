"""Records of a process changing its own credentials (set*id) or writing into another (ptrace,
process_vm_writev) -> OCSF Process Activity.
"""

from __future__ import annotations

from typing import Any

from aurora.ocsf.builders import PROCESS_ACTIVITY
from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode import Ptrace, Setid, decode
from aurora.sensor.linux.normalise.context import NormaliseContext
from aurora.sensor.linux.normalise.registry import register

_SETID_SYSCALLS = {105: "setuid", 113: "setreuid", 117: "setresuid", 106: "setgid"}
_SETID_SYSCALLS |= {114: "setregid", 119: "setresgid", 122: "setfsuid", 123: "setfsgid"}
_PTRACE_OPS = {1: "ptrace_attach", 2: "ptrace_poke", 3: "process_vm_writev"}


@register(R.EV_SETID)
def setid(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Setid):
        return None
    h = e.hdr
    p = ctx.actor_proc(h)
    ev = ctx.base(PROCESS_ACTIVITY, 5, h.ts_ns)
    ev["actor"] = {"process": ctx.proc_obj(p)}
    p.uid = h.uid
    p.changed()
    ev["process"] = ctx.proc_obj(p)
    ev["unmapped"] = {
        "syscall": _SETID_SYSCALLS.get(e.syscall_nr, str(e.syscall_nr)),
        "uid": h.uid,
        "euid": e.euid,
        "suid": e.suid,
        "fsuid": e.fsuid,
        "gid": h.gid,
        "egid": e.egid,
        "sgid": e.sgid,
        "fsgid": e.fsgid,
    }
    return ev


@register(R.EV_PTRACE)
def ptrace(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Ptrace):
        return None
    h = e.hdr
    activity = 3 if e.op == R.PTRACE_OP_ATTACH else 4
    ev = ctx.base(PROCESS_ACTIVITY, activity, h.ts_ns)
    ev["actor"] = ctx.actor(h)
    target = ctx.table.get(e.target_pid)
    ev["process"] = ctx.proc_obj(target) if target else {"pid": e.target_pid}
    ev["unmapped"] = {"syscall_op": _PTRACE_OPS[e.op], "ptrace_request": e.request}
    return ev
