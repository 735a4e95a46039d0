"""Escape-family records about isolation -> OCSF: namespaces created or joined (Kernel Activity,
the namespace as the kernel resource), mount and pivot_root (File System Activity, Mount) and
release_agent opened for writing (File System Activity, Open, like the file family's writes).
"""

from __future__ import annotations

from typing import Any

from aurora.ocsf.builders import FILE_ACTIVITY, KERNEL_ACTIVITY
from aurora.sensor.linux import escape_names as N
from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode_escape import Mount, Ns, ReleaseAgent, decode
from aurora.sensor.linux.normalise.context import NormaliseContext, comm_text, text
from aurora.sensor.linux.normalise.registry import register

_NS_SYSCALLS = {
    R.NS_OP_UNSHARE: "unshare",
    R.NS_OP_SETNS: "setns",
    R.NS_OP_CLONE: "clone",
    R.NS_OP_CLONE3: "clone3",
}
ACTIVITY_CREATE, ACTIVITY_OTHER, ACTIVITY_MOUNT, ACTIVITY_OPEN = 1, 99, 12, 14


@register(R.EV_NS)
def namespace(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Ns):
        return None
    syscall = _NS_SYSCALLS.get(e.op, str(e.op))
    if e.op == R.NS_OP_SETNS:
        return _setns(ctx, e)
    mask = N.CLONE_NAMESPACE_BITS if e.op == R.NS_OP_CLONE else 0xFFFFFFFF
    names = N.namespace_names(e.flags, mask)
    ev = ctx.base(KERNEL_ACTIVITY, ACTIVITY_CREATE, e.hdr.ts_ns)
    ev["actor"] = {"process": ctx.process_with_ancestry(ctx.actor_proc(e.hdr))}
    ev["kernel"] = {
        "name": ",".join(names),
        "type_id": 99,
        "type": "namespace",
        "system_call": syscall,
    }
    ev["unmapped"] = {
        "syscall": syscall,
        "namespaces": names,
        "new_user_namespace": "user" in names,
        "clone_flags": hex(e.flags),
        "uid": e.hdr.uid,
        "comm": comm_text(e.hdr.comm),
    }
    return ev


def _setns(ctx: NormaliseContext, e: Ns) -> dict[str, Any]:
    ev = ctx.base(KERNEL_ACTIVITY, ACTIVITY_OTHER, e.hdr.ts_ns)
    ev["activity_name"] = "Join"
    ev["actor"] = {"process": ctx.process_with_ancestry(ctx.actor_proc(e.hdr))}
    ns_name = N.NAMESPACES.get(e.ns_type, "")
    unmapped: dict[str, Any] = {"syscall": "setns", "fd": e.fd, "uid": e.hdr.uid}
    # The comm at the call: a short-lived caller may have exec'd something else by the time its
    # record is read (each family has its own ring), and the process table follows the exec.
    unmapped["comm"] = comm_text(e.hdr.comm)
    if e.target_inum:
        name = f"{ns_name or 'ns'}:[{e.target_inum}]"
        host = N.host_namespaces_cached().get(ns_name)
        unmapped |= {
            "namespaces": [ns_name] if ns_name else [],
            "ns_inum": e.target_inum,
            "own_ns_inum": e.own_inum,
            "target_is_host_namespace": host is not None and host == e.target_inum,
            "joins_other_namespace": e.own_inum != e.target_inum,
        }
    else:
        # A pidfd (or a descriptor we could not read): the flags name what is joined.
        names = N.namespace_names(e.flags)
        name = f"pidfd:{e.target_pid}" if e.target_pid else "unknown"
        unmapped |= {"namespaces": names, "target_pid": e.target_pid}
        unmapped["target_is_host_namespace"] = e.target_pid == 1
        target = ctx.table.get(e.target_pid) if e.target_pid else None
        if target is not None:
            unmapped["target_process_name"] = target.name
    ev["kernel"] = {"name": name, "type_id": 99, "type": "namespace", "system_call": "setns"}
    ev["unmapped"] = unmapped
    return ev


@register(R.EV_MOUNT)
def mount(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Mount):
        return None
    h = e.hdr
    ev = ctx.base(FILE_ACTIVITY, ACTIVITY_MOUNT, h.ts_ns)
    ev["actor"] = {"process": ctx.process_with_ancestry(ctx.actor_proc(h))}
    ev["status_id"], ev["status"] = (1, "Success") if e.ret == 0 else (2, "Failure")
    if e.ret:
        ev["status_code"] = N.errno_name(e.ret)
    pivot = e.op == R.MOUNT_OP_PIVOT_ROOT
    # pivot_root(new_root, put_old): the new root is what is mounted as /.
    point = text(e.source if pivot else e.target)
    ev["file"] = {"path": point, "name": point.rsplit("/", 1)[-1] or "/", "type_id": 2}
    unmapped: dict[str, Any] = {
        "syscall": "pivot_root" if pivot else "mount",
        "uid": h.uid,
        "comm": comm_text(h.comm),
        "result": e.ret,
        "mnt_ns": e.mnt_ns,
        "mnt_ns_is_host": e.mnt_ns == N.host_namespaces_cached().get("mnt"),
    }
    if pivot:
        unmapped["put_old"] = text(e.target)
    else:
        unmapped |= {
            "mount_source": text(e.source),
            "mount_target": point,
            "mount_fstype": text(e.fstype),
            "mount_flags": N.flag_names(e.flags, N.MOUNT_FLAGS),
        }
    ev["unmapped"] = unmapped
    return ev


@register(R.EV_RELEASE_AGENT)
def release_agent(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, ReleaseAgent):
        return None
    ev = ctx.base(FILE_ACTIVITY, ACTIVITY_OPEN, e.hdr.ts_ns)
    ev["actor"] = {"process": ctx.process_with_ancestry(ctx.actor_proc(e.hdr))}
    ev["file"] = ctx.file_obj(text(e.path))
    ev["unmapped"] = {"open_flags": e.open_flags, "cgroup_release_agent": True}
    return ev
