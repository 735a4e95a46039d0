"""Which attack an event belongs to, for alert suppression: the root of its process tree.

Suppression merges repeats of one rule on one host; keyed on the host alone, a second attack by
another process tree would only bump the first alert's counter and its evidence would never be
shown. The root is the login session when the sensor saw one (Linux audit session id), else the
topmost ancestor that is not part of the system's own plumbing (init, service managers, login
daemons, container shims), so every separate session, job or service run is its own tree.
"""

from __future__ import annotations

from typing import Any

# Ancestors that start other people's work rather than do it: a tree rooted in one of these is
# rooted in the child that it started.
SYSTEM_PROCESSES = frozenset(
    {
        "init",
        "systemd",
        "kthreadd",
        "sshd",
        "login",
        "agetty",
        "cron",
        "crond",
        "atd",
        "containerd",
        "containerd-shim",
        "containerd-shim-runc-v2",
        "dockerd",
        "runc",
        "tini",
        "services.exe",
        "wininit.exe",
        "svchost.exe",
    }
)
_NO_SESSION = "4294967295"  # the kernel's "unset" audit session id


def tree_root(event: dict[str, Any]) -> str:
    """A key naming the process tree behind ``event``, or "" when the event does not say."""
    proc = _process_of(event)
    if proc is None:
        return ""
    session = proc.get("session")
    if isinstance(session, dict):
        uid = session.get("uid")
        if isinstance(uid, str) and uid and uid != _NO_SESSION:
            return f"session:{uid}"
    ancestry = proc.get("ancestry")
    if not isinstance(ancestry, list) or not ancestry:
        # Without ancestry every process would be its own tree, and a rule that fires across
        # many short-lived processes would raise one alert each: keep the host-wide merge.
        return ""
    chain = [proc, *ancestry]  # nearest first
    for entity in reversed(chain):
        if isinstance(entity, dict) and not _is_system(entity):
            return "process:" + _identity(entity)
    return ""


def _process_of(event: dict[str, Any]) -> dict[str, Any] | None:
    for candidate in (event.get("process"), (event.get("actor") or {}).get("process")):
        if isinstance(candidate, dict):
            return candidate
    return None


def _is_system(entity: dict[str, Any]) -> bool:
    pid = entity.get("pid")
    if isinstance(pid, int) and pid <= 2:
        return True
    name = entity.get("name")
    return isinstance(name, str) and name in SYSTEM_PROCESSES


def _identity(entity: dict[str, Any]) -> str:
    uid = entity.get("uid")
    if isinstance(uid, str) and uid:
        return uid
    return f"{entity.get('pid')}@{entity.get('created_time')}"
