"""Triage sources that read the filesystem: listed files (with contents), set-id files, temp drops.

Paths in artifacts may use ``{home}``, expanded to the home directory of every account in
/etc/passwd, because persistence hides in service accounts' homes as often as under /home.
"""

from __future__ import annotations

import glob
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aurora.sensor.response.sources.base import Context, SourceResult, stat_row


def home_dirs(passwd: Path = Path("/etc/passwd")) -> list[str]:
    homes: set[str] = set()
    try:
        lines = passwd.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":")
        if len(parts) >= 6 and parts[5].startswith("/") and parts[5] != "/":
            homes.add(parts[5].rstrip("/"))
    return sorted(h for h in homes if os.path.isdir(h))


def expand(patterns: list[str]) -> list[str]:
    homes = home_dirs()
    found: set[str] = set()
    for pattern in patterns:
        variants = (
            [pattern.replace("{home}", h) for h in homes] if "{home}" in pattern else [pattern]
        )
        for variant in variants:
            found.update(glob.glob(variant, recursive=True))
    return sorted(found)


def files(params: dict[str, Any], ctx: Context) -> SourceResult:
    out = SourceResult()
    for path in expand(params["paths"]):
        try:
            st = os.stat(path)
        except OSError as exc:
            out.notes.append(f"{path}: {exc.strerror}")
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        row = stat_row(path, st)
        if os.path.islink(path):
            row["link_target"] = os.path.realpath(path)
        row["sha256"] = ctx.sha256(path)
        out.rows.append(row)
        if params.get("contents", False):
            out.files.append(Path(path))
    return out


def _walk(
    roots: list[str], exclude: list[str], max_entries: int, out: SourceResult
) -> Iterator[tuple[str, os.stat_result]]:
    """Every regular file under ``roots``, staying on each root's filesystem, bounded in count."""
    excluded = {os.path.realpath(e) for e in exclude}
    # Merged /usr makes /bin and /usr/bin one directory: keep only outermost roots, walk each once.
    reals = sorted({os.path.realpath(r) for r in roots if os.path.isdir(r)})
    outer = [
        r for r in reals if not any(o != r and r.startswith(o.rstrip("/") + "/") for o in reals)
    ]
    count = 0
    for real in outer:
        dev = os.stat(real).st_dev
        stack = [real]
        while stack:
            directory = stack.pop()
            try:
                entries = list(os.scandir(directory))
            except OSError as exc:
                out.notes.append(f"{directory}: {exc.strerror}")
                continue
            for entry in entries:
                count += 1
                if count > max_entries:
                    out.truncated = True
                    out.notes.append(f"stopped after {max_entries} entries")
                    return
                try:
                    # d_type answers is_dir/is_file without a syscall; stat only what we need.
                    if entry.is_dir(follow_symlinks=False):
                        if (
                            entry.path not in excluded
                            and entry.stat(follow_symlinks=False).st_dev == dev
                        ):
                            stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        yield entry.path, entry.stat(follow_symlinks=False)
                except OSError:
                    continue


def special_files(params: dict[str, Any], ctx: Context) -> SourceResult:
    out = SourceResult()
    walk = _walk(params["roots"], params.get("exclude", []), params.get("max_entries", 10**7), out)
    for path, st in walk:
        if st.st_mode & (stat.S_ISUID | stat.S_ISGID):
            row = stat_row(path, st)
            row["setuid"] = bool(st.st_mode & stat.S_ISUID)
            row["setgid"] = bool(st.st_mode & stat.S_ISGID)
            row["sha256"] = ctx.sha256(path)
            out.rows.append(row)
    return out


def recent_files(params: dict[str, Any], ctx: Context) -> SourceResult:
    out = SourceResult()
    since = time.time() - 3600 * params.get("max_age_hours", 72)
    for path, st in _walk(params["roots"], [], params.get("max_entries", 10**6), out):
        if st.st_mtime >= since or st.st_ctime >= since:
            row = stat_row(path, st)
            row["sha256"] = ctx.sha256(path)
            out.rows.append(row)
    return out
