"""Process trees and timelines rebuilt from stored Process Launch events (OCSF 1007).

The store keeps events, not a process table, so the tree around a pid is assembled on request:
the newest launch of each pid on the host (at or before the moment asked about), its ancestors by
following ``process.parent_process.pid`` and its children by the reverse link. Pids are recycled,
so each node keeps the launch time that identifies it.
"""

from __future__ import annotations

from typing import Any

from aurora.collector.store.base import EventQuery, Store, StoredEvent

PROCESS_LAUNCH = 1007
# How many recent launches of one host are scanned to build a tree; bounds the request's cost.
SCAN_LIMIT = 5000
MAX_DEPTH = 64


def process_node(proc: dict[str, Any], event: StoredEvent | None = None) -> dict[str, Any]:
    node = {
        "pid": proc.get("pid"),
        "name": proc.get("name") or (proc.get("file") or {}).get("name") or "",
        "cmd_line": proc.get("cmd_line") or "",
        "path": (proc.get("file") or {}).get("path") or "",
        "user": (proc.get("user") or {}).get("name") or "",
        "uid": proc.get("uid") or "",
        "start_time_ms": proc.get("created_time") or (event.time_ms if event else None),
    }
    if event is not None:
        node["event_id"] = event.id
        node["time_ms"] = event.time_ms
    return node


def _parent_pid(proc: dict[str, Any]) -> int | None:
    parent = proc.get("parent_process") or {}
    pid = parent.get("pid")
    # pid 0 is the kernel's idle task, the parent of init: the chain ends there.
    return pid if isinstance(pid, int) and pid > 0 else None


def process_tree(
    store: Store, sensor_id: str, pid: int, at_ms: int | None = None
) -> dict[str, Any]:
    """``{"process", "ancestors" (nearest first), "children"}`` for ``pid`` on ``sensor_id``."""
    launches = store.search_events(
        EventQuery(
            sensor_ids=[sensor_id],
            class_uid=PROCESS_LAUNCH,
            # until_ms is exclusive; the process launched at at_ms itself belongs to the tree.
            until_ms=None if at_ms is None else at_ms + 1,
            limit=SCAN_LIMIT,
        )
    )
    # Newest first, so the first launch seen per pid is the latest incarnation of that pid.
    latest: dict[int, tuple[dict[str, Any], StoredEvent]] = {}
    for ev in launches:
        proc = ev.event.get("process") or {}
        p = proc.get("pid")
        if isinstance(p, int) and p not in latest:
            latest[p] = (proc, ev)
    root = latest.get(pid)
    found = root is not None
    proc = root[0] if root else {"pid": pid}
    node = process_node(proc, root[1] if root else None)
    ancestors: list[dict[str, Any]] = []
    seen = {pid}
    parent = _parent_pid(proc)
    inline_parent = proc.get("parent_process") or {}
    while parent is not None and parent not in seen and len(ancestors) < MAX_DEPTH:
        seen.add(parent)
        if parent in latest:
            pproc, pev = latest[parent]
            ancestors.append(process_node(pproc, pev))
            inline_parent = pproc.get("parent_process") or {}
            parent = _parent_pid(pproc)
        else:
            # The launch of the parent predates what we stored: the event's own copy of the
            # parent is all we know, and the chain ends there.
            if inline_parent:
                ancestors.append(process_node(inline_parent))
            break
    children = []
    start = node.get("start_time_ms") or 0
    for child_pid, (cproc, cev) in sorted(latest.items(), key=lambda kv: kv[1][1].time_ms):
        if child_pid != pid and _parent_pid(cproc) == pid and cev.time_ms >= start:
            children.append(process_node(cproc, cev))
    return {"found": found, "process": node, "ancestors": ancestors, "children": children}


def timeline(
    store: Store,
    sensor_id: str,
    pid: int,
    *,
    since_ms: int | None,
    until_ms: int | None,
    limit: int,
) -> list[StoredEvent]:
    """Events of ``pid`` on the host in the window, oldest first (a timeline reads downward)."""
    got = store.search_events(
        EventQuery(
            sensor_ids=[sensor_id], pid=pid, since_ms=since_ms, until_ms=until_ms, limit=limit
        )
    )
    return sorted(got, key=lambda e: (e.time_ms, e.id))
