"""The typed messages the collector's parts exchange over the bus, and their wire form.

Each message is a frozen dataclass with a ``topic``; on a bus that leaves the process (NATS
JetStream, in the scale-out work) it travels as JSON under the subject ``<topic>.<sensor id>``,
so a consumer can take one host's messages in order. Messages name what happened and the keys to
read it back from the store; the store stays the record, the bus only says that it changed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from aurora.errors import AuroraError


class MessageDecodeError(AuroraError):
    """Bytes from the bus that are not a message of a known topic."""


@dataclass(frozen=True)
class BatchCommitted:
    """A sensor's batch is durably stored (``stored`` new events; the rest were duplicates)."""

    topic: ClassVar[str] = "batch.committed"
    sensor_id: str
    first_seq: int
    count: int
    stored: int
    high_water: int


@dataclass(frozen=True)
class AlertRaised:
    """A rule matched a stored event. ``suppressed`` is a repeat inside the suppression window,
    folded into the alert already stored rather than stored as a new one; rule-driven response
    still acts on it. ``evidence`` is the matched OCSF event."""

    topic: ClassVar[str] = "alert.raised"
    sensor_id: str
    rule_uid: str
    dedup_key: str
    severity_id: int
    title: str
    time_ms: int
    suppressed: bool = False
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CommandQueued:
    """A response command waits in the store for its sensor."""

    topic: ClassVar[str] = "command.queued"
    sensor_id: str
    command_id: str
    action: str


@dataclass(frozen=True)
class CommandUpdated:
    """A sensor reported progress or the result of a command (``state`` as stored)."""

    topic: ClassVar[str] = "command.updated"
    sensor_id: str
    command_id: str
    state: str


@dataclass(frozen=True)
class HostChanged:
    """What the store knows of a host changed: connection, heartbeat health, revocation."""

    topic: ClassVar[str] = "host.state"
    sensor_id: str


@dataclass(frozen=True)
class RulesChanged:
    """The detection rules changed (uploaded, enabled or disabled, or SIGHUP after a rules
    update): the collector loads them again. ``sensor_id`` is empty, as no host is concerned;
    ``reason`` says what changed, for the log."""

    topic: ClassVar[str] = "rules.changed"
    sensor_id: str = ""
    reason: str = ""


Message = BatchCommitted | AlertRaised | CommandQueued | CommandUpdated | HostChanged | RulesChanged
MESSAGE_TYPES: tuple[type[Message], ...] = (
    BatchCommitted,
    AlertRaised,
    CommandQueued,
    CommandUpdated,
    HostChanged,
    RulesChanged,
)
_BY_TOPIC: dict[str, type[Message]] = {t.topic: t for t in MESSAGE_TYPES}


def subject(message: Message) -> str:
    """Where the message is published: its topic, then the host it is about."""
    return f"{message.topic}.{message.sensor_id}"


def encode(message: Message) -> bytes:
    return orjson.dumps({"topic": message.topic, **dataclasses.asdict(message)})


def decode(data: bytes) -> Message:
    try:
        body = orjson.loads(data)
        kind = _BY_TOPIC[body.pop("topic")]
        return kind(**body)
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError) as exc:
        raise MessageDecodeError(f"not a bus message: {exc}") from None
