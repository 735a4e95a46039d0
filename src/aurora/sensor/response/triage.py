"""Live triage: run the selected artifacts and package their output in one capped archive.

Each artifact becomes ``artifacts/NAME.json`` (rows, notes, status); files an artifact collects by
content go under ``files/<original path>``. ``manifest.json`` lists every member with its SHA-256,
every artifact's status and whatever the size cap left out. Uploading the archive in chunks is the
transport's job; this module only builds it and reports progress while it runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aurora
from aurora.sensor.response.archive import CappedArchive
from aurora.sensor.response.artifacts import Artifact
from aurora.sensor.response.errors import ArtifactError
from aurora.sensor.response.sources import Context, SourceResult, registry

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
FORMAT = "aurora-triage/1"
# Archives are meant to be deleted once uploaded; this bounds what a failed upload leaves behind.
KEEP_ARCHIVES_S = 24 * 3600


def select(artifacts: dict[str, Artifact], names: list[str] | None) -> list[Artifact]:
    if not names:
        return [artifacts[n] for n in sorted(artifacts)]
    unknown = [n for n in names if n not in artifacts]
    if unknown:
        raise ArtifactError(
            f"unknown triage artifact {unknown[0]!r}; known: {', '.join(sorted(artifacts))}"
        )
    return [artifacts[n] for n in dict.fromkeys(names)]


def prune_old_archives(out_dir: Path, now: float | None = None) -> list[str]:
    """Delete archives older than KEEP_ARCHIVES_S (never a recent one: it may be uploading)."""
    cutoff = (now or time.time()) - KEEP_ARCHIVES_S
    removed = []
    for old in out_dir.glob("triage-*.tar.*"):
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                old.unlink()
                removed.append(old.name)
    return removed


def _read_capped(path: Path, limit: int) -> tuple[bytes, bool]:
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    return data[:limit], len(data) > limit


def _add_files(archive: CappedArchive, art: Artifact, res: SourceResult, limit: int) -> None:
    for path in res.files:
        member = "files/" + str(path).lstrip("/")
        if member in archive.files:
            continue  # two artifacts may name the same file; store it once
        try:
            data, truncated = _read_capped(path, limit)
        except OSError as exc:
            res.notes.append(f"{path}: {exc.strerror}")
            continue
        meta = {"source_path": str(path), "artifact": art.name, "truncated": truncated}
        archive.add_bytes(member, data, meta)


def collect(
    out_dir: Path,
    artifacts: list[Artifact],
    cap_bytes: int,
    max_file_bytes: int,
    compression: str,
    progress: Progress | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Build the archive in ``out_dir``; returns its path and a summary for the action result."""
    report = progress or (lambda fraction, message: None)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    prune_old_archives(out_dir)
    suffix = "tar.zst" if compression == "zstd" else "tar.gz"
    started = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    path = out_dir / f"triage-{stamp}-{uuid.uuid4().hex[:8]}.{suffix}"
    archive = CappedArchive(path, compression, cap_bytes)
    sources = registry()
    ctx = Context(max_file_bytes)
    summary: list[dict[str, Any]] = []
    try:
        for index, art in enumerate(artifacts):
            report(index / len(artifacts), f"collecting {art.name}")
            began = time.monotonic()
            try:
                res = sources[art.source](art.params, ctx)
                status, error = ("partial" if res.truncated else "ok"), ""
            except Exception as exc:  # one broken artifact must not sink the triage
                log.exception("triage artifact %s failed", art.name)
                res, status, error = SourceResult(), "error", f"{type(exc).__name__}: {exc}"
            _add_files(archive, art, res, max_file_bytes)
            member = f"artifacts/{art.name}.json"
            body = {
                "artifact": art.name,
                "description": art.description,
                "status": status,
                "error": error,
                "notes": res.notes,
                "rows": res.rows,
            }
            stored = archive.add_bytes(member, json.dumps(body, default=str).encode())
            summary.append(
                {
                    "name": art.name,
                    "source": art.source,
                    "status": status if stored else "skipped",
                    "error": error,
                    "rows": len(res.rows),
                    "files": len(res.files),
                    "member": member if stored else None,
                    "seconds": round(time.monotonic() - began, 3),
                }
            )
        report(0.99, "writing manifest")
        manifest = {
            "format": FORMAT,
            "host": socket.gethostname(),
            "sensor_version": aurora.__version__,
            "created_at": started,
            "finished_at": time.time(),
            "cap_bytes": cap_bytes,
            "max_file_bytes": max_file_bytes,
            "artifacts": summary,
        }
        skipped = len(archive.skipped)
        archive.close(manifest)
    except BaseException:
        archive.abort()
        raise
    os.chmod(path, 0o600)
    size = path.stat().st_size
    report(1.0, f"archive ready: {size} bytes")
    return path, {"archive": path.name, "size": size, "artifacts": summary, "skipped": skipped}
