"""Plugin administration through the collector: enable a manifest on one host or all of them,
remove it, and list where each plugin stands. Each change is a ``plugin`` command per host
(delivered like any action, so an offline sensor gets it when it returns) and audited."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal

from aurora.collector.actions import ActionRefused, resolve_sensor
from aurora.collector.bus import Bus, CommandQueued
from aurora.collector.store.accounts import AuditEntry, AuditLog
from aurora.collector.store.base import CommandRecord, Store
from aurora.errors import AuroraError, UsageError
from aurora.plugins.manifest import Manifest, from_json

Op = Literal["add", "remove"]
# How far back `aurora plugin list` reads the command history.
HISTORY = 100_000


def target_hosts(store: Store, host: str | None, all_hosts: bool) -> list[str]:
    """The sensor ids a change goes to: one named host, or every host not revoked."""
    if all_hosts == (host is not None):
        raise UsageError("name one host with --host H, or every host with --all")
    if host is not None:
        sensor_id = resolve_sensor(store, host)
        record = store.get_host(sensor_id)
        if record is not None and record.revoked:
            raise ActionRefused(f"sensor {sensor_id} is revoked; it can no longer take plugins")
        return [sensor_id]
    ids = [h.sensor_id for h in store.list_hosts() if not h.revoked]
    if not ids:
        raise UsageError("no enrolled sensor to send the plugin change to")
    return ids


def request_change(
    store: Store,
    audit: AuditLog,
    *,
    actor: str,
    op: Op,
    name: str,
    manifest: Manifest | None,
    host: str | None,
    all_hosts: bool,
    ttl_s: int,
    bus: Bus | None = None,
) -> list[CommandRecord]:
    """Queue the change for each target host; audited (refusals too)."""
    now = int(time.time() * 1000)
    params: dict[str, str] = {"op": op, "name": name}
    if manifest is not None:
        params["manifest"] = manifest.to_json()
    try:
        if op == "add" and (manifest is None or manifest.name != name):
            raise UsageError("plugin add needs the manifest of the plugin it names")
        targets = target_hosts(store, host, all_hosts)
    except AuroraError as exc:
        where = "*" if all_hosts else (host or "")
        detail = {"error": exc.message, "params": params}
        audit.append(AuditEntry(now, actor, f"plugin.{op}", name, where, "refused", detail))
        raise
    queued = []
    for sensor_id in targets:
        command = CommandRecord(
            command_id=uuid.uuid4().hex,
            sensor_id=sensor_id,
            action="plugin",
            params=params,
            created_ms=now,
            expires_ms=now + ttl_s * 1000,
            requested_by=actor,
            updated_ms=now,
        )
        store.enqueue_command(command)
        if bus is not None:
            bus.publish(CommandQueued(sensor_id, command.command_id, "plugin"))
        audit.append(
            AuditEntry(
                now,
                actor,
                f"plugin.{op}",
                command.command_id,
                sensor_id,
                "queued",
                {"name": name, "version": manifest.version if manifest else ""},
            )
        )
        queued.append(command)
    return queued


@dataclass(frozen=True)
class PluginState:
    """The latest change asked for one plugin on one host, and how far it got."""

    sensor_id: str
    name: str
    op: str
    version: str
    state: str
    message: str
    updated_ms: int

    @property
    def enabled(self) -> bool:
        return self.op == "add" and self.state == "succeeded"


def plugin_states(store: Store) -> list[PluginState]:
    """One row per (host, plugin): its latest change, newest first by host and name."""
    latest: dict[tuple[str, str], PluginState] = {}
    for cmd in store.list_commands(None, limit=HISTORY):  # newest first
        if cmd.action != "plugin":
            continue
        name = str(cmd.params.get("name", ""))
        key = (cmd.sensor_id, name)
        if key in latest:
            continue
        version = ""
        if cmd.params.get("manifest"):
            try:
                version = from_json(str(cmd.params["manifest"])).version
            except UsageError:
                version = "?"
        latest[key] = PluginState(
            cmd.sensor_id,
            name,
            str(cmd.params.get("op", "")),
            version,
            cmd.state,
            cmd.message,
            cmd.updated_ms or cmd.created_ms,
        )
    return [latest[k] for k in sorted(latest)]
