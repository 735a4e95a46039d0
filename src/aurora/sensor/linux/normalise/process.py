"""Process lifecycle records (fork, exec, exit) -> OCSF Process Activity, keeping the table current.

fork, exec and exit are most of the traffic: they are unpacked here straight into locals, without
the NamedTuples of decode.py, which cost more than the rest of their normalisation.
"""

from __future__ import annotations

import re
from typing import Any

from aurora.ocsf.builders import PROCESS_ACTIVITY
from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode import EXEC, EXIT, FORK, cfield
from aurora.sensor.linux.enrich import MISSING
from aurora.sensor.linux.normalise.context import NormaliseContext, comm_text
from aurora.sensor.linux.normalise.registry import register

_CONTAINER_ID = re.compile(r"([0-9a-f]{64})")
_TTY, _CGROUP = R.ExecEvent.tty.offset, R.ExecEvent.cgroup.offset
_STR = R.ExecEvent.strings.offset  # filename, exe, cwd, argv: back to back


@register(R.EV_FORK)
def fork(ctx: NormaliseContext, data: bytes) -> None:
    """A fork carries nothing but its header: it only adds the child to the table."""
    start_ns, pid, ppid = FORK.unpack_from(data)
    ctx.table.fork(pid, ppid, start_ns)


@register(R.EV_EXEC)
def execve(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    if len(data) < _STR:
        return None
    (
        ts_ns,
        cgroup_id,
        start_ns,
        _kind,
        pid,
        tid,
        ppid,
        uid,
        gid,
        comm,
        exe_ino,
        exe_mtime_ns,
        exe_dev,
        flags,
        euid,
        egid,
        suid,
        sgid,
        loginuid,
        sessionid,
        _old_pid,
        exe_len,
        cwd_len,
        argv_len,
        filename_len,
        args_size,
    ) = EXEC.unpack_from(data)
    table = ctx.table
    p = table.exec(pid, ppid, start_ns)
    exe_at = _STR + filename_len
    cwd_at = exe_at + exe_len
    argv_at = cwd_at + cwd_len
    argv = data[argv_at : argv_at + argv_len].rstrip(b"\0")
    # One decode for the whole vector: NUL is ASCII, so no UTF-8 sequence spans a split.
    args = argv.decode(errors="replace").split("\0") if argv_len else []
    exe = data[exe_at:cwd_at].decode(errors="replace")
    p.name, p.path, p.uid = comm_text(comm), exe, uid
    p.cwd = data[cwd_at:argv_at].decode(errors="replace")
    p.cmd_line = " ".join(args)
    p.exited = False
    memfd = exe.rsplit("/", 1)[-1].startswith("memfd:")
    unlinked = bool(flags & R.EXEC_F_EXE_UNLINKED)
    key = p.exe_key = (exe_dev, exe_ino, exe_mtime_ns)
    sha = ctx.hashes.cached(key)
    if sha is MISSING:
        sha = ctx.hashes.sha256(key, (f"/proc/{pid}/exe", exe))
    p.sha256 = sha if isinstance(sha, str) else None
    ev = ctx.base(PROCESS_ACTIVITY, 1, ts_ns)
    proc = ctx.proc_obj(p)
    proc["tid"] = tid
    tty = cfield(data, _TTY, R.TTY_NAME_MAX) if data[_TTY] else b""
    p.session = str(sessionid) if sessionid != 0xFFFFFFFF else ""
    if sessionid != 0xFFFFFFFF or tty:
        session = proc["session"] = {}
        if sessionid != 0xFFFFFFFF:
            session["uid"] = str(sessionid)
        if tty:
            session["terminal"] = tty.decode(errors="replace")
    cgroup = (
        cfield(data, _CGROUP, R.CGROUP_NAME_MAX).decode(errors="replace") if data[_CGROUP] else ""
    )
    m = _CONTAINER_ID.search(cgroup) if len(cgroup) >= 64 else None
    if m:
        proc["container"] = {"uid": m.group(1)}
        ev["metadata"]["profiles"] = ["container"]
    parent = table.procs.get(ppid)
    if parent is not None:
        proc["ancestry"] = ctx.lineage(parent)
    ev["process"] = proc
    # The parent in full is already process.parent_process; the actor repeats it without
    # its own parent to keep events small.
    ev["actor"] = {"process": ctx.proc_obj(parent, 0) if parent else {"pid": ppid}}
    ev["unmapped"] = {
        "ppid": ppid,
        "euid": euid,
        "egid": egid,
        "suid": suid,
        "sgid": sgid,
        "gid": gid,
        "auid": None if loginuid == 0xFFFFFFFF else loginuid,
        "argv": args,
        "argv_truncated": bool(flags & R.EXEC_F_ARGV_TRUNCATED),
        "args_size": args_size,
        "exe_memfd": memfd,
        "exe_deleted": unlinked and not memfd,
        "exec_filename": data[_STR:exe_at].decode(errors="replace"),
        "cgroup_id": cgroup_id,
        "cgroup": cgroup,
    }
    return ev


@register(R.EV_EXIT)
def exit_(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    if len(data) < EXIT.size:
        return None
    ts_ns, _cg, start_ns, _kind, pid, _tid, ppid, uid, _gid, comm, code, _pad = EXIT.unpack_from(
        data
    )
    p = ctx.proc_of(pid, ppid, start_ns, comm, uid)
    ev = ctx.base(PROCESS_ACTIVITY, 2, ts_ns)
    proc = ctx.proc_obj(p)
    proc["terminated_time"] = ev["time"]
    ev["process"] = proc
    ev["actor"] = {"process": ctx.proc_obj(p, 0)}  # the process ends itself
    ev["exit_code"] = (code >> 8) & 0xFF if code & 0x7F == 0 else 128 + (code & 0x7F)
    ev["unmapped"] = {"exit_signal": code & 0x7F, "exit_status_raw": code}
    ctx.table.exit(pid)
    return ev
