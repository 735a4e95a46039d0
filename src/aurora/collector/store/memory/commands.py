"""The commands area in memory: the queue as a dict in arrival order, expired on read."""

from __future__ import annotations

import copy
import threading
from dataclasses import replace
from typing import Any

from aurora.collector.store.base import CommandRecord
from aurora.collector.store.base.commands import stays_final


class MemoryCommands:
    """:class:`~aurora.collector.store.base.CommandStore` in a dict.

    Records are copied in and out, so a caller changing a command's ``params`` or ``result``
    afterwards changes nothing stored, as with a database.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._commands: dict[str, CommandRecord] = {}

    def enqueue_command(self, command: CommandRecord) -> None:
        with self._lock:
            if command.command_id in self._commands:
                raise ValueError(f"command {command.command_id} exists")
            self._commands[command.command_id] = copy.deepcopy(command)

    def get_command(self, command_id: str) -> CommandRecord | None:
        with self._lock:
            return copy.deepcopy(self._commands.get(command_id))

    def pending_commands(self, sensor_id: str, now_ms: int) -> list[CommandRecord]:
        with self._lock:
            pending: list[CommandRecord] = []
            for c in self._commands.values():
                if c.sensor_id != sensor_id:
                    continue
                if c.state == "queued" and 0 < c.expires_ms <= now_ms:
                    self._commands[c.command_id] = replace(
                        c,
                        state="expired",
                        updated_ms=now_ms,
                        error_code="expired",
                        message="expired before the sensor received it",
                    )
                elif c.state in ("queued", "sent"):
                    pending.append(c)
            return copy.deepcopy(sorted(pending, key=lambda c: c.created_ms))

    def list_commands(self, sensor_id: str | None = None, limit: int = 100) -> list[CommandRecord]:
        with self._lock:
            found = [c for c in self._commands.values() if sensor_id in (None, c.sensor_id)]
            found.sort(key=lambda c: c.created_ms, reverse=True)
            return copy.deepcopy(found[:limit])

    def update_command(
        self,
        command_id: str,
        *,
        now_ms: int,
        state: str | None = None,
        progress: float | None = None,
        stage: str | None = None,
        error_code: str | None = None,
        message: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> bool:
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("state", state),
                ("progress", progress),
                ("stage", stage),
                ("error_code", error_code),
                ("message", message),
                ("result", copy.deepcopy(result)),
            )
            if value is not None
        }
        with self._lock:
            command = self._commands.get(command_id)
            if command is None:
                return False
            if stays_final(command.state, state):
                return True
            self._commands[command_id] = replace(command, updated_ms=now_ms, **changes)
        return True
