"""Triage sources read from the live system: processes, sockets, logins, kernel modules."""

from __future__ import annotations

import contextlib
import ipaddress
import struct
from pathlib import Path
from typing import Any

import psutil

from aurora.sensor.response.sources.base import Context, SourceResult

# struct utmp on Linux (glibc, x86-64 and arm64 alike): 384 bytes, 32-bit time fields.
_UTMP = struct.Struct("<h2xi32s4s32s256shhiii16s20s")
_UTMP_TYPES = {1: "run_level", 2: "boot", 5: "init", 6: "login", 7: "user", 8: "dead"}


def processes(params: dict[str, Any], ctx: Context) -> SourceResult:
    out = SourceResult()
    attrs = ["pid", "ppid", "name", "exe", "cmdline", "username", "create_time", "status"]
    children: dict[int, list[int]] = {}
    for proc in psutil.process_iter(attrs=attrs):
        info = dict(proc.info)
        # /proc/PID/exe opens the running image even when its file was deleted or replaced.
        info["exe_sha256"] = ctx.sha256(f"/proc/{proc.pid}/exe") if info.get("exe") else None
        info["exe_deleted"] = bool(info.get("exe")) and str(info["exe"]).endswith(" (deleted)")
        out.rows.append(info)
        children.setdefault(int(info["ppid"] or 0), []).append(proc.pid)
    for row in out.rows:
        row["children"] = sorted(children.get(row["pid"], []))
    return out


def _addr(addr: Any) -> str | None:
    if not addr:
        return None
    if isinstance(addr, str):
        return addr
    return f"[{addr.ip}]:{addr.port}" if ":" in addr.ip else f"{addr.ip}:{addr.port}"


def sockets(params: dict[str, Any], ctx: Context) -> SourceResult:
    out = SourceResult()
    names: dict[int, tuple[str, str]] = {}
    for proc in psutil.process_iter(attrs=["name", "exe"]):
        names[proc.pid] = (proc.info["name"] or "", proc.info["exe"] or "")
    for kind in params.get("kinds", ["inet"]):
        try:
            conns = psutil.net_connections(kind=kind)
        except ValueError:
            out.notes.append(f"unknown socket kind {kind!r}")
            continue
        for c in conns:
            name, exe = names.get(c.pid or -1, ("", ""))
            out.rows.append(
                {
                    "kind": kind,
                    "family": c.family.name,
                    "type": c.type.name,
                    "fd": c.fd,
                    "laddr": _addr(c.laddr),
                    "raddr": _addr(c.raddr),
                    "status": c.status,
                    "pid": c.pid,
                    "process": name,
                    "exe": exe,
                }
            )
    return out


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def parse_utmp(data: bytes) -> list[dict[str, Any]]:
    """Records of a utmp/wtmp/btmp file; a trailing partial record is ignored."""
    rows = []
    for off in range(0, len(data) - _UTMP.size + 1, _UTMP.size):
        typ, pid, line, _id, user, host, _t, _e, session, sec, usec, addr, _ = _UTMP.unpack_from(
            data, off
        )
        ip = None
        if addr[4:] == b"\0" * 12:
            ip = str(ipaddress.IPv4Address(addr[:4])) if addr[:4] != b"\0" * 4 else None
        else:
            ip = str(ipaddress.IPv6Address(addr))
        rows.append(
            {
                "type": _UTMP_TYPES.get(typ, str(typ)),
                "pid": pid,
                "line": _text(line),
                "user": _text(user),
                "host": _text(host),
                "ip": ip,
                "session": session,
                "time": sec + usec / 1e6,
            }
        )
    return rows


def users(params: dict[str, Any], ctx: Context) -> SourceResult:
    out = SourceResult()
    for u in psutil.users():
        out.rows.append(
            {
                "log": "utmp",
                "type": "user",
                "user": u.name,
                "line": u.terminal,
                "host": u.host,
                "time": u.started,
                "pid": u.pid,
            }
        )
    limit = int(params.get("max_records", 500))
    for log in params.get("login_logs", []):
        try:
            data = Path(log).read_bytes()
        except FileNotFoundError:
            out.notes.append(f"{log}: not present")
            continue
        except OSError as exc:
            out.notes.append(f"{log}: {exc.strerror}")
            continue
        records = parse_utmp(data)
        if len(records) > limit:
            out.truncated = True
            records = records[-limit:]
        out.rows += [{"log": log, **r} for r in records]
    return out


def kernel_modules(params: dict[str, Any], ctx: Context) -> SourceResult:
    out = SourceResult()
    try:
        lines = Path("/proc/modules").read_text().splitlines()
    except OSError as exc:
        # A kernel built without module support has no /proc/modules: nothing can be loaded.
        out.notes.append(f"/proc/modules: {exc.strerror}; kernel without loadable modules")
        lines = []
    for line in lines:
        parts = line.split()
        if len(parts) < 6:
            continue
        out.rows.append(
            {
                "name": parts[0],
                "size": int(parts[1]),
                "refcount": int(parts[2]),
                "used_by": [d for d in parts[3].split(",") if d and d != "-"],
                "state": parts[4],
                "taint": parts[6].strip("()") if len(parts) > 6 else "",
            }
        )
    with contextlib.suppress(OSError):
        tainted = int(Path("/proc/sys/kernel/tainted").read_text())
        out.notes.append(f"kernel taint mask: {tainted}")
    return out
