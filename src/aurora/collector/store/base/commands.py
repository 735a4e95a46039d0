"""The commands area of the store: response actions queued for a sensor, with a TTL and progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

CommandState = Literal[
    "queued", "sent", "running", "succeeded", "failed", "expired", "unsupported", "cancelled"
]
#: States after which a command is never sent again.
FINAL_COMMAND_STATES: frozenset[str] = frozenset(
    {"succeeded", "failed", "expired", "unsupported", "cancelled"}
)


def stays_final(current: str, update: str | None) -> bool:
    """True when an update must leave a command as it is: a final state is final, and a late
    progress message must not reopen it (only another final state replaces it)."""
    return current in FINAL_COMMAND_STATES and update not in FINAL_COMMAND_STATES


@dataclass(frozen=True)
class CommandRecord:
    command_id: str
    sensor_id: str
    action: str
    params: dict[str, Any]
    created_ms: int
    expires_ms: int = 0
    requested_by: str = ""
    state: str = "queued"
    progress: float = 0.0
    stage: str = ""
    error_code: str = ""
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    updated_ms: int = 0


@runtime_checkable
class CommandStore(Protocol):
    """The command queue. ``expires_ms`` 0 means the command never expires."""

    def enqueue_command(self, command: CommandRecord) -> None: ...
    def get_command(self, command_id: str) -> CommandRecord | None: ...
    def pending_commands(self, sensor_id: str, now_ms: int) -> list[CommandRecord]:
        """Queued or sent-but-unanswered commands, oldest first; expired ones are marked expired
        and left out."""
        ...

    def list_commands(self, sensor_id: str | None = None, limit: int = 100) -> list[CommandRecord]:
        """Newest first."""
        ...

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
        """False when the command is unknown. A command in a final state stays as it is unless
        the update names another final state."""
        ...
