"""Watched-path rules for the file family, written into the BPF maps the kernel filters with.

A pattern matches the path itself and everything below it; ``*`` matches the rest of one path
component (``/home/*/.ssh``, ``/root/.ssh/id_*``). Exec-only rules (``/tmp``...) report a file
only when it carries an execute bit, so ordinary temp files never leave the kernel. The read list
(``read_rules``) reports read-only opens of what it matches; its anchors (``read_anchors``: per
rule, the last component without ``*``) let the kernel turn away a path that cannot match before
building it.
"""

from __future__ import annotations

import ctypes

from aurora.sensor.linux import libbpf
from aurora.sensor.linux.records import (
    ANCHOR_MAX,
    READ_RULES_MAX,
    WATCH_F_EXEC_ONLY,
    WATCH_RULES_MAX,
    ReadAnchor,
    WatchRule,
)


def build_rules(paths: list[str], exec_paths: list[str]) -> list[WatchRule]:
    rules: list[WatchRule] = []
    for flags, group in ((0, paths), (WATCH_F_EXEC_ONLY, exec_paths)):
        for path in group:
            pattern = path.rstrip("/").encode() or b"/"
            rules.append(WatchRule(len=len(pattern), flags=flags, pattern=pattern))
    if len(rules) > WATCH_RULES_MAX:
        raise libbpf.BpfError(f"at most {WATCH_RULES_MAX} watched paths are supported")
    return rules


def read_anchor(path: str) -> bytes:
    """The last component of ``path`` without ``*``: every path the rule matches has it."""
    literal = [part for part in path.split("/") if part and "*" not in part]
    if not literal or len(literal[-1].encode()) >= ANCHOR_MAX:
        raise libbpf.BpfError(
            f"{path!r}: a read-watched path needs a component without '*' shorter than "
            f"{ANCHOR_MAX} bytes"
        )
    return literal[-1].encode()


def build_read_rules(paths: list[str]) -> list[WatchRule]:
    if len(paths) > READ_RULES_MAX:
        raise libbpf.BpfError(f"at most {READ_RULES_MAX} read-watched paths are supported")
    return build_rules(paths, [])


def _write(fd: int, rules: list[WatchRule], slots: int) -> None:
    """Fill every slot, the unused ones with empty rules: the kernel stops at the first empty
    one, and a reload after a shorter list must not leave stale rules behind."""
    for i in range(slots):
        libbpf.map_update(fd, ctypes.c_uint32(i), rules[i] if i < len(rules) else WatchRule())


def load_watch_rules(fd: int, paths: list[str], exec_paths: list[str]) -> None:
    for i, rule in enumerate(build_rules(paths, exec_paths)):
        libbpf.map_update(fd, ctypes.c_uint32(i), rule)


def load_read_rules(rules_fd: int, anchors_fd: int, paths: list[str]) -> None:
    rules = build_read_rules(paths)
    for anchor in {read_anchor(p) for p in paths}:
        libbpf.map_update(anchors_fd, ReadAnchor(name=anchor), ctypes.c_uint32(1))
    _write(rules_fd, rules, READ_RULES_MAX)
