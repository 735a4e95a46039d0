"""Watched-path rules for the file family, written into the BPF maps the kernel filters with.

A pattern matches the path itself and everything below it; ``*`` matches the rest of one path
component (``/home/*/.ssh``, ``/root/.ssh/id_*``). Exec-only rules (``/tmp``...) report a file
only when it carries an execute bit, so ordinary temp files never leave the kernel. The read list
(``read_rules``) reports read-only opens of what it matches.
"""

from __future__ import annotations

import ctypes

from aurora.sensor.linux import libbpf
from aurora.sensor.linux.records import (
    READ_RULES_MAX,
    WATCH_F_EXEC_ONLY,
    WATCH_RULES_MAX,
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


def load_read_rules(fd: int, paths: list[str]) -> None:
    _write(fd, build_read_rules(paths), READ_RULES_MAX)
