"""Rollouts of sensor updates: keep the package, queue an Update command per chosen host, serve
the package to those sensors in chunks, and summarise progress and outcome per host.

The collector does not verify signatures: only the sensor's pinned key counts, so a compromised
collector cannot push a package of its own. It reads the manifest (version, platform) to show
what is rolled out, and keeps each package once, named by its SHA-256, so chunks are read from
disk at an offset and memory stays bounded whatever the package size.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aurora.collector.actions import resolve_sensor
from aurora.collector.bus import Bus
from aurora.collector.commands import CommandQueue
from aurora.collector.store.base import (
    PackageRecord,
    RolloutRecord,
    RolloutTarget,
    Store,
)
from aurora.errors import ConfigError, UsageError
from aurora.v1 import stream_pb2
from aurora.wire.release import ReleaseError, read_manifest
from aurora.wire.release.keys import parse_public

MAX_CHUNK = 1024 * 1024
DEFAULT_CONFIRM_S = 120
# An update waits for an offline host longer than a response action: a week.
UPDATE_TTL_S = 7 * 24 * 3600


def _now_ms() -> int:
    return int(time.time() * 1000)


def load_release_key(path: Path | None) -> bytes:
    """The release public key sensors will pin (b"" when none is configured)."""
    if path is None:
        return b""
    key = "collector.release_public_key"
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    try:
        parse_public(pem, f"key in {path}")
    except ReleaseError as exc:
        raise ConfigError(key, exc.message) from None
    return pem


def choose_hosts(ids: Sequence[str], percent: int) -> list[str]:
    """The first ``percent`` of ``ids`` in a stable order (at least one), so widening a rollout
    from 10 % to 50 % keeps the hosts that already have it."""
    if not 1 <= percent <= 100:
        raise UsageError("--percent must be between 1 and 100")
    ordered = sorted(set(ids), key=lambda sid: hashlib.sha256(sid.encode()).hexdigest())
    return ordered[: max(1, math.ceil(len(ordered) * percent / 100))] if ordered else []


class Rollouts:
    def __init__(self, store: Store, commands: CommandQueue, directory: Path) -> None:
        self.store = store
        self.commands = commands
        self.directory = directory

    @classmethod
    def over(cls, store: Store, state_dir: Path, ttl_s: int, bus: Bus | None = None) -> Rollouts:
        """Rollouts of the collector whose state is ``state_dir`` (for the API and local CLI)."""
        return cls(store, CommandQueue(store, ttl_s, bus), state_dir / "packages")

    def keep_package(self, source: Path, label: str = "") -> PackageRecord:
        """Copy a package into the collector's package directory (once per SHA-256); ``label``
        names it in errors (default: its file name)."""
        try:
            manifest = read_manifest(source)
        except ReleaseError as exc:
            raise UsageError(f"{label or source.name}: {exc.message}") from None
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        digest = hashlib.sha256()
        tmp = self.directory / f".incoming-{uuid.uuid4().hex}"
        with source.open("rb") as src, tmp.open("wb") as out:
            while block := src.read(MAX_CHUNK):
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        final = self.directory / f"{sha}.pkg"
        os.replace(tmp, final)
        record = PackageRecord(
            sha,
            manifest.version,
            manifest.platform,
            final.stat().st_size,
            str(final),
            manifest.key_id,
            _now_ms(),
        )
        self.store.put_package(record)
        return self.store.get_package(sha) or record

    def stage(
        self,
        package: Path,
        hosts: Sequence[str] | None,
        *,
        percent: int = 100,
        requested_by: str = "",
        confirm_within_s: int = DEFAULT_CONFIRM_S,
        label: str = "",
    ) -> RolloutRecord:
        """Queue the package for ``hosts`` (ids or hostnames; None: every live sensor)."""
        if confirm_within_s < 1:
            raise UsageError("--confirm-within must be at least 1 second")
        if hosts is None:
            ids = [h.sensor_id for h in self.store.list_hosts() if not h.revoked]
        else:
            if not hosts:
                raise UsageError("name at least one host, or --all")
            ids = [resolve_sensor(self.store, host) for host in hosts]
        chosen = choose_hosts(ids, percent)
        if not chosen:
            raise UsageError("no enrolled sensor to update")
        record = self.keep_package(package, label)
        params: dict[str, Any] = {
            "version": record.version,
            "package_sha256": record.sha256,
            "package_size": record.size,
            "confirm_within_s": confirm_within_s,
        }
        targets = []
        for sid in chosen:
            cmd = self.commands.enqueue(
                sid, "update", params, ttl_s=UPDATE_TTL_S, requested_by=requested_by
            )
            targets.append(RolloutTarget(sid, cmd.command_id))
        rollout = RolloutRecord(
            uuid.uuid4().hex,
            record.sha256,
            record.version,
            _now_ms(),
            requested_by,
            percent,
            confirm_within_s,
            tuple(targets),
        )
        self.store.add_rollout(rollout)
        return rollout

    def serve(self, sensor_id: str, req: stream_pb2.PackageRequest) -> stream_pb2.PackageChunk:
        """The chunk a sensor asks for, or a chunk with ``error`` saying why not."""
        cid = req.command_id

        def refuse(error: str) -> stream_pb2.PackageChunk:
            return stream_pb2.PackageChunk(command_id=cid, offset=req.offset, error=error)

        cmd = self.store.get_command(cid)
        package = self.store.package_for_command(cid)
        if cmd is None or cmd.sensor_id != sensor_id or package is None:
            return refuse("no update command of this sensor has that id")
        if req.offset > package.size:
            return refuse(f"offset {req.offset} is past the package's {package.size} bytes")
        size = min(req.max_bytes or MAX_CHUNK, MAX_CHUNK)
        try:
            with open(package.path, "rb") as f:
                f.seek(req.offset)
                data = f.read(size)
        except OSError as exc:
            return refuse(f"the package cannot be read on the collector: {exc.strerror}")
        return stream_pb2.PackageChunk(
            command_id=cid, offset=req.offset, data=data, total_size=package.size
        )


def host_outcome(cmd_state: str, error_code: str) -> str:
    """A host's place in a rollout, in the words the console and `aurora update status` use."""
    if cmd_state == "succeeded":
        return "installed"
    if error_code == "rolled_back":
        return "rolled back"
    if cmd_state in ("failed", "unsupported"):
        return "refused"
    return {"queued": "queued", "sent": "sent", "running": "in progress"}.get(cmd_state, cmd_state)


def rollout_view(store: Store, rollout: RolloutRecord) -> dict[str, Any]:
    """A rollout with every host's progress and outcome (from its Update command)."""
    hosts = []
    for target in rollout.targets:
        cmd = store.get_command(target.command_id)
        host = store.get_host(target.sensor_id)
        state = cmd.state if cmd else "unknown"
        code = cmd.error_code if cmd else ""
        hosts.append(
            {
                "sensor_id": target.sensor_id,
                "hostname": host.hostname if host else "",
                "running_version": host.sensor_version if host else "",
                "command_id": target.command_id,
                "outcome": host_outcome(state, code),
                "state": state,
                "progress": cmd.progress if cmd else 0.0,
                "stage": cmd.stage if cmd else "",
                "error_code": code,
                "message": cmd.message if cmd else "",
                "updated_ms": cmd.updated_ms if cmd else 0,
            }
        )
    counts = Counter(str(h["outcome"]) for h in hosts)
    return {
        "rollout_id": rollout.rollout_id,
        "version": rollout.version,
        "package_sha256": rollout.package_sha256,
        "created_ms": rollout.created_ms,
        "requested_by": rollout.requested_by,
        "percent": rollout.percent,
        "confirm_within_s": rollout.confirm_within_s,
        "counts": dict(counts),
        "hosts": hosts,
    }
