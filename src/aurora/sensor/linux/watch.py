"""Watched-path rules for the file family, written into the BPF map the kernel filters with.

A pattern matches the path itself and everything below it; ``*`` matches exactly one path
component (``/home/*/.ssh``). Exec-only rules (``/tmp``...) report a file only when it carries an
execute bit, so ordinary temp files never leave the kernel.
"""

from __future__ import annotations

import ctypes

from aurora.sensor.linux import libbpf
from aurora.sensor.linux.records import WATCH_F_EXEC_ONLY, WATCH_RULES_MAX, WatchRule


def build_rules(paths: list[str], exec_paths: list[str]) -> list[WatchRule]:
    rules: list[WatchRule] = []
    for flags, group in ((0, paths), (WATCH_F_EXEC_ONLY, exec_paths)):
        for path in group:
            pattern = path.rstrip("/").encode() or b"/"
            rules.append(WatchRule(len=len(pattern), flags=flags, pattern=pattern))
    if len(rules) > WATCH_RULES_MAX:
        raise libbpf.BpfError(f"at most {WATCH_RULES_MAX} watched paths are supported")
    return rules


def load_watch_rules(fd: int, paths: list[str], exec_paths: list[str]) -> None:
    for i, rule in enumerate(build_rules(paths, exec_paths)):
        libbpf.map_update(fd, ctypes.c_uint32(i), rule)
