"""Tamper observations as OCSF events: Process Activity, activity Other (99), with what the guard
saw under ``unmapped.tamper``. They go through the spool like any event, so one written just before
the sensor dies is delivered by the next run, and the collector's rules turn them into alerts
(``detection/rules/aurora_guard``).
"""

from __future__ import annotations

import itertools
import os
import signal
import time
import uuid
from typing import Any

from aurora.ocsf import builders as ocsf
from aurora.sensor.linux.normalise.context import device_info

TAMPER_ACTIVITY = 99
_uid_prefix = f"guard-{uuid.uuid4().hex[:12]}-"
_seq = itertools.count(1)
_device: dict[str, Any] | None = None


def _this_device() -> dict[str, Any]:
    global _device
    if _device is None:
        _device = device_info()
    return _device


def use_device(device: dict[str, Any]) -> None:
    """Name the host as its event source does: the guard of a Windows sensor reports a Windows
    device, not the Linux one :func:`device_info` describes."""
    global _device
    _device = device


def signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _proc_facts(pid: int) -> dict[str, Any]:
    """What /proc still says of ``pid`` (nothing once it has exited)."""
    out: dict[str, Any] = {"pid": pid}
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        out["file"] = {"path": exe, "name": os.path.basename(exe), "type_id": 1}
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            out["cmd_line"] = f.read(4096).replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        pass
    return out


def tamper_event(
    check: str,
    detail: str,
    *,
    time_ms: int | None = None,
    actor: dict[str, Any] | None = None,
    target_pid: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One tamper observation. ``check`` names what was found (``signal``, ``hook_detached``...);
    ``actor`` is the process that did it when known, else the sensor itself."""
    ev = ocsf.skeleton(
        ocsf.PROCESS_ACTIVITY,
        TAMPER_ACTIVITY,
        time_ms if time_ms is not None else int(time.time() * 1000),
        f"{_uid_prefix}{next(_seq):x}",
        _this_device(),
    )
    ev["activity_name"] = "Other"
    ev["severity_id"] = 5
    ev["message"] = detail
    ev["actor"] = {"process": actor if actor is not None else _proc_facts(os.getpid())}
    ev["process"] = _proc_facts(target_pid if target_pid is not None else os.getpid())
    tamper: dict[str, Any] = {"check": check, "detail": detail}
    if extra:
        tamper.update(extra)
    ev["unmapped"] = {"tamper": tamper}
    return ev


def sender_process(pid: int, ppid: int, uid: int, comm: str) -> dict[str, Any]:
    """The OCSF process object of a sender, from the kernel record and what /proc still has."""
    proc = _proc_facts(pid)
    proc.setdefault("file", {"name": comm, "type_id": 0})  # gone: its command name is left
    proc["name"] = comm
    proc["user"] = {"uid": str(uid)}
    proc["parent_process"] = {"pid": ppid}
    return proc
