"""Turn decoded kernel records into enriched OCSF 1.8.0 event dicts.

Keeps the process table current as a side effect (fork/exec/exit), so that every later record of
any family can name its process, parent and ancestry. Fields OCSF has no attribute for go in
``unmapped`` (listed in docs/sensor-linux.md).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from itertools import count
from typing import Any

from aurora.ocsf import linux as ocsf
from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode import (
    EXEC,
    EXIT,
    FORK,
    HDR,
    Bpf,
    Dns,
    File,
    Hdr,
    Kmod,
    Net,
    Ptrace,
    Setid,
    cfield,
    decode,
)
from aurora.sensor.linux.enrich import MISSING, HashCache, NameCache
from aurora.sensor.linux.proctable import ANCESTRY_MAX, NS_PER_TICK, Proc, ProcessTable

_CONTAINER_ID = re.compile(r"([0-9a-f]{64})")
_SETID_SYSCALLS = {105: "setuid", 113: "setreuid", 117: "setresuid", 106: "setgid"}
_SETID_SYSCALLS |= {114: "setregid", 119: "setresgid"}
_FILE_ACTIVITY = {
    R.FILE_OP_CREATE: 1,
    R.FILE_OP_OPEN_WRITE: 14,
    R.FILE_OP_DELETE: 4,
    R.FILE_OP_RENAME: 5,
    R.FILE_OP_CHMOD: 6,
    R.FILE_OP_CHOWN: 6,
}
_SHARED_CACHE_MAX = 4096
_FILE_OP_NAMES = {1: "create", 2: "open_write", 3: "delete", 4: "rename", 5: "chmod", 6: "chown"}
_HDR_SIZE, _KIND = HDR.size, R.EvHdr.kind.offset
_TTY, _CGROUP = R.ExecEvent.tty.offset, R.ExecEvent.cgroup.offset
_FILENAME, _EXE = R.ExecEvent.filename.offset, R.ExecEvent.exe.offset
_CWD, _ARGV = R.ExecEvent.cwd.offset, R.ExecEvent.argv.offset


def boot_offset_ns() -> int:
    """Wall-clock time of boot, to turn CLOCK_BOOTTIME stamps into epoch times."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def _text(raw: bytes) -> str:
    return raw.decode(errors="replace")


def _comm(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


class Normalizer:
    def __init__(self, table: ProcessTable, hash_max_bytes: int = 256 * 1024 * 1024) -> None:
        self.table = table
        self.hashes = HashCache(hash_max_bytes)
        self.names = NameCache()
        self.device = ocsf.device_info()
        self.boot_ns = boot_offset_ns()
        self._seq = count(1)
        self._uid_prefix = os.urandom(4).hex() + "-"
        self._users: dict[int, dict[str, Any]] = {}
        self._exes: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._dispatch: dict[int, Callable[[Any], dict[str, Any] | None]] = {
            R.EV_SETID: self._setid,
            R.EV_PTRACE: self._ptrace,
            R.EV_NET: self._net,
            R.EV_DNS: self._dns,
            R.EV_FILE: self._file,
            R.EV_KMOD: self._kmod,
            R.EV_BPF: self._bpf,
        }

    def hash_seeded(self) -> None:
        """Hash the executables of the processes found in /proc at start (once per binary)."""
        for p in self.table.procs.values():
            exe = f"/proc/{p.pid}/exe"
            try:
                st = os.stat(exe)
            except OSError:
                continue
            p.exe_key = (st.st_dev, st.st_ino, st.st_mtime_ns)
            p.sha256 = self.hashes.sha256(p.exe_key, (exe,))

    def normalize(self, data: bytes) -> dict[str, Any] | None:
        # fork, exec and exit are most of the traffic: they are unpacked right here, without the
        # NamedTuples of decode.py, which cost more than the rest of their normalisation.
        if len(data) < _HDR_SIZE:
            return None
        kind = int.from_bytes(data[_KIND : _KIND + 4], "little")
        if kind == R.EV_FORK:  # a fork carries nothing but its header
            start_ns, pid, ppid = FORK.unpack_from(data)
            self.table.fork(pid, ppid, start_ns)
            return None
        if kind == R.EV_EXEC:
            return self._exec(data) if len(data) >= _ARGV else None
        if kind == R.EV_EXIT:
            return self._exit(data) if len(data) >= EXIT.size else None
        rec = decode(data)
        if rec is None or isinstance(rec, Hdr):
            return None
        return self._dispatch[rec.hdr.kind](rec)

    # -- helpers ---------------------------------------------------------------------------

    def _base(self, class_uid: int, activity_id: int, ts_ns: int) -> dict[str, Any]:
        return {
            "class_uid": class_uid,
            "class_name": ocsf.CLASS_NAMES[class_uid],
            "category_uid": class_uid // 1000,
            "activity_id": activity_id,
            "type_uid": class_uid * 100 + activity_id,
            "time": (ts_ns + self.boot_ns) // 1_000_000,
            "severity_id": ocsf.SEVERITY_INFORMATIONAL,
            "metadata": {
                "version": ocsf.OCSF_VERSION,
                "product": ocsf.PRODUCT,
                "uid": f"{self._uid_prefix}{next(self._seq):x}",
            },
            "device": self.device,
        }

    def _created_ms(self, start_ns: int) -> int:
        return (start_ns + self.boot_ns) // 1_000_000

    def _user(self, uid: int) -> dict[str, Any]:
        """The OCSF user object for ``uid``, built once and shared (read-only)."""
        user = self._users.get(uid)
        if user is None:
            user = {"uid": str(uid)}
            name = self.names.user(uid)
            if name is not None:
                user["name"] = name
            self._users[uid] = user
        return user

    def _proc_obj(self, p: Proc, depth: int = 1) -> dict[str, Any]:
        """The OCSF process object; with depth 1 also its parent. Shared sub-dicts: read-only."""
        if p.sha256 is None and p.exe_key is not None:
            self._late_hash(p)
        base = p.ocsf
        if base is None:
            base = {
                "pid": p.pid,
                "uid": p.key,
                "name": p.name,
                "cmd_line": p.cmd_line,
                "created_time": (p.start_ns + self.boot_ns) // 1_000_000,
                "user": self._users.get(p.uid) or self._user(p.uid),
            }
            if p.path:
                base["file"] = self._exe_obj(p.path, p.sha256)
            if p.cwd:
                base["working_directory"] = p.cwd
            p.ocsf = base
        if depth == 0:
            return base
        obj = dict(base)
        parent = self.table.procs.get(p.ppid)
        if parent is not None:
            obj["parent_process"] = self._proc_obj(parent, 0)
        elif p.ppid:
            obj["parent_process"] = {"pid": p.ppid}
        return obj

    def _late_hash(self, p: Proc) -> None:
        """Pick up a digest the background hasher finished after the process was first seen."""
        assert p.exe_key is not None
        sha = self.hashes.cached(p.exe_key)
        if isinstance(sha, str):
            p.sha256 = sha
            p.ocsf = None
        elif sha is None:
            p.exe_key = None  # unreadable or too big: stop asking

    def _lineage(self, p: Proc) -> list[dict[str, Any]]:
        """``p`` and its ancestors as process entities, nearest first; cached on ``p`` (its
        children all share it) and rebuilt when ``p`` changes."""
        if p.lineage is None:
            p.lineage = [self._entity(a) for a in (p, *self.table.ancestry(p))][:ANCESTRY_MAX]
        return p.lineage

    def _entity(self, p: Proc) -> dict[str, Any]:
        if p.entity is None:
            # No cmd_line: parent_process carries the parent's in full, and repeating every
            # ancestor's would multiply the size of each event.
            p.entity = {
                "pid": p.pid,
                "uid": p.key,
                "name": p.name,
                "path": p.path,
                "created_time": self._created_ms(p.start_ns),
            }
        return p.entity

    def _file_obj(self, path: str, sha256: str | None = None) -> dict[str, Any]:
        f: dict[str, Any] = {"path": path, "name": path.rsplit("/", 1)[-1], "type_id": 1}
        if sha256:
            f["hashes"] = [
                {"algorithm_id": ocsf.SHA256_ALGORITHM_ID, "algorithm": "SHA-256", "value": sha256}
            ]
        return f

    def _exe_obj(self, path: str, sha256: str | None) -> dict[str, Any]:
        """File object of an executable, shared by every process running it (read-only)."""
        key = (path, sha256)
        f = self._exes.get(key)
        if f is None:
            if len(self._exes) >= _SHARED_CACHE_MAX:
                self._exes.clear()
            f = self._exes[key] = self._file_obj(path, sha256)
        return f

    def _actor_proc(self, hdr: Hdr) -> Proc:
        return self._proc_of(hdr.pid, hdr.ppid, hdr.start_ns, hdr.comm, hdr.uid)

    def _proc_of(self, pid: int, ppid: int, start_ns: int, comm: bytes, uid: int) -> Proc:
        p = self.table.procs.get(pid)
        if p is None or p.start_ns // NS_PER_TICK != start_ns // NS_PER_TICK:
            # Unknown to the table (started before seeding raced, or a missed exec).
            p = self.table.exec(pid, ppid, start_ns)
            p.name, p.uid = _comm(comm), uid
        return p

    def _actor(self, hdr: Hdr) -> dict[str, Any]:
        return {"process": self._proc_obj(self._actor_proc(hdr))}

    # -- process family --------------------------------------------------------------------

    def _exec(self, data: bytes) -> dict[str, Any]:
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
        table = self.table
        p = table.exec(pid, ppid, start_ns)
        argv = data[_ARGV : _ARGV + argv_len].rstrip(b"\0")
        # One decode for the whole vector: NUL is ASCII, so no UTF-8 sequence spans a split.
        args = argv.decode(errors="replace").split("\0") if argv_len else []
        exe = data[_EXE : _EXE + exe_len].decode(errors="replace")
        p.name, p.path, p.uid = _comm(comm), exe, uid
        p.cwd = data[_CWD : _CWD + cwd_len].decode(errors="replace")
        p.cmd_line = " ".join(args)
        p.exited = False
        memfd = exe.rsplit("/", 1)[-1].startswith("memfd:")
        unlinked = bool(flags & R.EXEC_F_EXE_UNLINKED)
        key = p.exe_key = (exe_dev, exe_ino, exe_mtime_ns)
        sha = self.hashes.cached(key)
        if sha is MISSING:
            sha = self.hashes.sha256(key, (f"/proc/{pid}/exe", exe))
        p.sha256 = sha if isinstance(sha, str) else None
        ev = self._base(ocsf.PROCESS_ACTIVITY, 1, ts_ns)
        proc = self._proc_obj(p)
        proc["tid"] = tid
        tty = cfield(data, _TTY, R.TTY_NAME_MAX) if data[_TTY] else b""
        if sessionid != 0xFFFFFFFF or tty:
            session = proc["session"] = {}
            if sessionid != 0xFFFFFFFF:
                session["uid"] = str(sessionid)
            if tty:
                session["terminal"] = tty.decode(errors="replace")
        cgroup = (
            cfield(data, _CGROUP, R.CGROUP_NAME_MAX).decode(errors="replace")
            if data[_CGROUP]
            else ""
        )
        m = _CONTAINER_ID.search(cgroup) if len(cgroup) >= 64 else None
        if m:
            proc["container"] = {"uid": m.group(1)}
            ev["metadata"]["profiles"] = ["container"]
        parent = table.procs.get(ppid)
        if parent is not None:
            proc["ancestry"] = self._lineage(parent)
        ev["process"] = proc
        # The parent in full is already process.parent_process; the actor repeats it without
        # its own parent to keep events small.
        ev["actor"] = {"process": self._proc_obj(parent, 0) if parent else {"pid": ppid}}
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
            "exec_filename": data[_FILENAME : _FILENAME + filename_len].decode(errors="replace"),
            "cgroup_id": cgroup_id,
            "cgroup": cgroup,
        }
        return ev

    def _exit(self, data: bytes) -> dict[str, Any]:
        ts_ns, _cg, start_ns, _kind, pid, _tid, ppid, uid, _gid, comm, code, _pad = (
            EXIT.unpack_from(data)
        )
        p = self._proc_of(pid, ppid, start_ns, comm, uid)
        ev = self._base(ocsf.PROCESS_ACTIVITY, 2, ts_ns)
        proc = self._proc_obj(p)
        proc["terminated_time"] = ev["time"]
        ev["process"] = proc
        ev["actor"] = {"process": self._proc_obj(p, 0)}  # the process ends itself
        ev["exit_code"] = (code >> 8) & 0xFF if code & 0x7F == 0 else 128 + (code & 0x7F)
        ev["unmapped"] = {"exit_signal": code & 0x7F, "exit_status_raw": code}
        self.table.exit(pid)
        return ev

    def _setid(self, e: Setid) -> dict[str, Any]:
        h = e.hdr
        p = self._actor_proc(h)
        ev = self._base(ocsf.PROCESS_ACTIVITY, 5, h.ts_ns)
        ev["actor"] = {"process": self._proc_obj(p)}
        p.uid = h.uid
        p.changed()
        ev["process"] = self._proc_obj(p)
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

    def _ptrace(self, e: Ptrace) -> dict[str, Any]:
        h = e.hdr
        activity = 3 if e.op == R.PTRACE_OP_ATTACH else 4
        ev = self._base(ocsf.PROCESS_ACTIVITY, activity, h.ts_ns)
        ev["actor"] = self._actor(h)
        target = self.table.get(e.target_pid)
        ev["process"] = self._proc_obj(target) if target else {"pid": e.target_pid}
        op = {1: "ptrace_attach", 2: "ptrace_poke", 3: "process_vm_writev"}[e.op]
        ev["unmapped"] = {"syscall_op": op, "ptrace_request": e.request}
        return ev

    # -- network, DNS ----------------------------------------------------------------------

    def _net(self, e: Net) -> dict[str, Any]:
        h = e.hdr
        activity = {R.NET_OP_LISTEN: 7, R.NET_OP_CONNECT_FAILED: 4}.get(e.op, 1)
        ev = self._base(ocsf.NETWORK_ACTIVITY, activity, h.ts_ns)
        ev["actor"] = self._actor(h)
        local = ocsf.endpoint(ocsf.ip_text(e.family, e.saddr), e.sport)
        remote = ocsf.endpoint(ocsf.ip_text(e.family, e.daddr), e.dport)
        if e.op == R.NET_OP_LISTEN:  # the endpoint others will connect to
            ev["dst_endpoint"] = local
        elif e.op == R.NET_OP_ACCEPT:
            ev["src_endpoint"], ev["dst_endpoint"] = remote, local
        else:
            ev["src_endpoint"], ev["dst_endpoint"] = local, remote
        direction = {R.NET_OP_ACCEPT: (1, "Inbound"), R.NET_OP_LISTEN: (0, "Unknown")}.get(
            e.op, (2, "Outbound")
        )
        ev["connection_info"] = {
            "protocol_num": 6,
            "protocol_name": "tcp",
            "protocol_ver_id": 4 if e.family == 2 else 6,
            "direction_id": direction[0],
            "direction": direction[1],
        }
        if e.op == R.NET_OP_CONNECT_FAILED:
            ev["status_id"] = 2
        return ev

    def _dns(self, e: Dns) -> dict[str, Any] | None:
        h = e.hdr
        q = ocsf.parse_dns_question(e.payload)
        if q is None:
            return None
        txid, name, qtype = q
        ev = self._base(ocsf.DNS_ACTIVITY, 1, h.ts_ns)
        ev["actor"] = self._actor(h)
        ev["query"] = {
            "hostname": name,
            "type": ocsf.DNS_TYPES.get(qtype, str(qtype)),
            "class": "IN",
            "packet_uid": txid,
        }
        ev["dst_endpoint"] = ocsf.endpoint(ocsf.ip_text(e.family, e.daddr), e.dport)
        ev["connection_info"] = {
            "protocol_num": 17,
            "protocol_name": "udp",
            "direction_id": 2,
            "direction": "Outbound",
        }
        return ev

    # -- files and kernel ------------------------------------------------------------------

    def _file(self, e: File) -> dict[str, Any]:
        h = e.hdr
        ev = self._base(ocsf.FILE_ACTIVITY, _FILE_ACTIVITY[e.op], h.ts_ns)
        ev["actor"] = self._actor(h)
        ev["file"] = self._file_obj(_text(e.path))
        unmapped: dict[str, Any] = {"file_op": _FILE_OP_NAMES[e.op]}
        if e.op == R.FILE_OP_RENAME:
            ev["file_result"] = self._file_obj(_text(e.path2))
        if e.op in (R.FILE_OP_CREATE, R.FILE_OP_OPEN_WRITE):
            unmapped["open_flags"] = e.open_flags
        if e.op in (R.FILE_OP_CREATE, R.FILE_OP_OPEN_WRITE, R.FILE_OP_CHMOD):
            unmapped["mode"] = f"{e.mode & 0o7777:04o}"
        if e.op == R.FILE_OP_CHOWN:
            unmapped["owner_uid"], unmapped["owner_gid"] = e.owner_uid, e.owner_gid
            if e.owner_uid != 0xFFFFFFFF:
                ev["file"]["owner"] = self._user(e.owner_uid)
        ev["unmapped"] = unmapped
        return ev

    def _kmod(self, e: Kmod) -> dict[str, Any]:
        h = e.hdr
        ev = self._base(ocsf.KERNEL_EXTENSION_ACTIVITY, 1, h.ts_ns)
        ev["actor"] = self._actor(h)
        path = _text(e.path)
        ev["driver"] = {
            "file": self._file_obj(path) if path else {"name": "<memory image>", "type_id": 0}
        }
        ev["unmapped"] = {
            "syscall": "finit_module" if e.op == R.KMOD_OP_FINIT else "init_module",
            "module_args": _text(e.args),
            "flags": e.flags,
            "image_len": e.image_len,
        }
        return ev

    def _bpf(self, e: Bpf) -> dict[str, Any]:
        h = e.hdr
        ev = self._base(ocsf.KERNEL_ACTIVITY, 1, h.ts_ns)
        ev["actor"] = self._actor(h)
        ev["kernel"] = {
            "name": _text(e.prog_name) or "<unnamed>",
            "type_id": 99,
            "type": "bpf_program",
            "system_call": "bpf",
        }
        ev["unmapped"] = {"bpf_prog_type": e.prog_type, "bpf_insn_cnt": e.insn_cnt}
        return ev
