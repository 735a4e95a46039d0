"""The collector's storage contract: one Protocol every backend (SQLite, later PostgreSQL) meets.

Everything the collector, the API and the CLI keep goes through :class:`Store`: events and their
per-sensor sequence high-water marks and gaps, the fleet table, enrolment tokens, response
commands, uploads and alerts. Records are frozen dataclasses so callers never depend on a
backend's row type. One shared test suite (tests/collector/test_store.py) runs against every
implementation, so a backend is correct when that suite passes.

Times are integers in milliseconds since the epoch (``*_ms``), as OCSF ``time`` is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from aurora.collector.store.packed_batch import PackedBatch
from aurora.errors import AuroraError

AlertStatus = Literal["new", "acknowledged", "resolved"]
ALERT_STATUSES: tuple[AlertStatus, ...] = ("new", "acknowledged", "resolved")

CommandState = Literal[
    "queued", "sent", "running", "succeeded", "failed", "expired", "unsupported", "cancelled"
]
#: States after which a command is never sent again.
FINAL_COMMAND_STATES: frozenset[str] = frozenset(
    {"succeeded", "failed", "expired", "unsupported", "cancelled"}
)


class StoreError(AuroraError):
    """The store cannot be opened or migrated (bad path, newer schema, corrupt file)."""


class TokenRejected(AuroraError):
    """An enrolment token is unknown, expired or has no uses left; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"enrolment token rejected: {reason}")
        self.reason = reason


class UnknownHost(AuroraError):
    """No enrolled sensor has this id (or hostname)."""

    def __init__(self, host: str) -> None:
        super().__init__(f"no enrolled sensor matches {host!r}; see `aurora hosts`")
        self.host = host


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DropDelta:
    """Losses a sensor reports with a batch (deltas since its previous batch)."""

    kernel: int = 0
    spool_evicted: int = 0
    spool_corrupt: int = 0


@dataclass(frozen=True)
class IncomingBatch:
    """A batch already validated, ready to be stored.

    ``packed`` is the batch as the store keeps it (see :mod:`.packed_batch`), which the ingest path
    builds from the wire bytes without parsing every event; ``events`` may then be empty (it holds
    the parsed events only when detection needs them). Without ``packed`` the backend packs
    ``events`` itself.
    """

    sensor_id: str
    first_seq: int
    events: Sequence[dict[str, Any]] = ()
    packed: PackedBatch | None = None
    drops: DropDelta = DropDelta()
    received_ms: int = 0

    @property
    def count(self) -> int:
        return self.packed.count if self.packed is not None else len(self.events)


@dataclass(frozen=True)
class IngestResult:
    """What storing one batch did. ``gap`` is the inclusive missing range it revealed, if any."""

    sensor_id: str
    first_seq: int
    count: int
    stored: int
    duplicates: int
    high_water: int
    gap: tuple[int, int] | None = None
    #: Indexes into the batch of the events that were new (stored), for detection.
    new_indexes: range = range(0)


@dataclass(frozen=True)
class StoredEvent:
    id: int
    sensor_id: str
    seq: int
    time_ms: int
    class_uid: int
    hostname: str
    pid: int | None
    process_name: str
    event: dict[str, Any]


@dataclass(frozen=True)
class EventQuery:
    """Search criteria; every field narrows the result. Newest first."""

    sensor_ids: Sequence[str] | None = None
    class_uid: int | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    pid: int | None = None
    process_name: str | None = None
    limit: int = 100


@dataclass(frozen=True)
class Gap:
    sensor_id: str
    first_missing: int
    last_missing: int
    recorded_ms: int


# --- fleet ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostRecord:
    sensor_id: str
    hostname: str = ""
    os_name: str = ""
    os_version: str = ""
    kernel_version: str = ""
    arch: str = ""
    sensor_version: str = ""
    machine_id: str = ""
    ip_addresses: tuple[str, ...] = ()
    enrolled_ms: int = 0
    last_seen_ms: int = 0
    cert_not_after_ms: int = 0
    revoked: bool = False
    revoked_ms: int = 0
    connected: bool = False
    health: str = "unknown"
    capabilities: tuple[dict[str, Any], ...] = ()
    spool_bytes: int = 0
    spool_max_bytes: int = 0
    queue_depth: int = 0
    drops_kernel: int = 0
    drops_spool_evicted: int = 0
    drops_spool_corrupt: int = 0
    isolation: str = "unknown"
    counters: dict[str, int] = field(default_factory=dict)
    high_water: int = 0


@dataclass(frozen=True)
class HostStatus:
    """What a heartbeat (or Hello) says about a sensor, for :meth:`Store.update_host_status`."""

    sensor_id: str
    seen_ms: int
    health: str | None = None
    capabilities: Sequence[dict[str, Any]] | None = None
    spool_bytes: int | None = None
    spool_max_bytes: int | None = None
    queue_depth: int | None = None
    isolation: str | None = None
    counters: dict[str, int] | None = None
    connected: bool | None = None
    # Host facts refreshed from Hello (None = unchanged).
    host: dict[str, Any] | None = None


# --- tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenRecord:
    token_hash: str
    created_ms: int
    expires_ms: int
    uses_allowed: int
    uses: int = 0
    note: str = ""


# --- commands and uploads ---------------------------------------------------------------------


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


@dataclass(frozen=True)
class UploadRecord:
    command_id: str
    sensor_id: str
    path: str
    size: int
    sha256: str
    complete: bool
    updated_ms: int


# --- alerts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRecord:
    alert_id: int
    rule_uid: str
    sensor_id: str
    dedup_key: str
    severity_id: int
    title: str
    status: str
    first_seen_ms: int
    last_seen_ms: int
    count: int
    finding: dict[str, Any]


@dataclass(frozen=True)
class NewAlert:
    rule_uid: str
    sensor_id: str
    dedup_key: str
    severity_id: int
    title: str
    time_ms: int
    finding: dict[str, Any]


@runtime_checkable
class Store(Protocol):
    """Persistent state of one collector. Implementations must be safe to call from any thread."""

    # lifecycle
    def close(self) -> None: ...
    def schema_version(self) -> int: ...

    # events
    def ingest(
        self, batches: Sequence[IncomingBatch], alerts: Sequence[NewAlert] = ()
    ) -> list[IngestResult]:
        """Store batches (and alerts) in ONE durable transaction, then return.

        Per sensor, events with seq <= the high-water mark are duplicates and are discarded; a
        batch starting above hwm + 1 records a gap. Batches of one sensor are applied in order.
        """
        ...

    def high_water(self, sensor_id: str) -> int: ...
    def gaps(self, sensor_id: str | None = None) -> list[Gap]: ...
    def search_events(self, query: EventQuery) -> list[StoredEvent]: ...
    def count_events(self, sensor_id: str | None = None) -> int: ...
    def apply_retention(self, *, older_than_ms: int | None, max_bytes: int | None) -> int:
        """Delete events older than ``older_than_ms`` and then the oldest beyond ``max_bytes``
        of event data; return how many were deleted."""
        ...

    # fleet
    def register_host(self, host: HostRecord) -> None: ...
    def get_host(self, sensor_id: str) -> HostRecord | None: ...
    def resolve_host(self, id_or_hostname: str) -> list[str]:
        """Sensor ids whose id or hostname is ``id_or_hostname`` (empty when none)."""
        ...

    def list_hosts(self) -> list[HostRecord]: ...
    def update_host_status(self, status: HostStatus) -> None: ...
    def set_cert_not_after(self, sensor_id: str, not_after_ms: int) -> None: ...
    def revoke_host(self, sensor_id: str, now_ms: int) -> bool:
        """Mark revoked; False when no such sensor."""
        ...

    def is_revoked(self, sensor_id: str) -> bool:
        """True when revoked OR unknown: an unknown sensor must be refused just the same."""
        ...

    def mark_all_disconnected(self) -> None: ...

    # tokens (only hashes are stored)
    def add_token(self, token: TokenRecord) -> None: ...
    def consume_token(self, token_hash: str, now_ms: int) -> TokenRecord:
        """Atomically check and count one use; raise :class:`TokenRejected`."""
        ...

    def list_tokens(self) -> list[TokenRecord]: ...

    # commands
    def enqueue_command(self, command: CommandRecord) -> None: ...
    def get_command(self, command_id: str) -> CommandRecord | None: ...
    def pending_commands(self, sensor_id: str, now_ms: int) -> list[CommandRecord]:
        """Queued or sent-but-unanswered commands, oldest first; expired ones are marked expired
        and left out."""
        ...

    def list_commands(
        self, sensor_id: str | None = None, limit: int = 100
    ) -> list[CommandRecord]: ...

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
        """False when the command is unknown."""
        ...

    # uploads
    def record_upload(self, upload: UploadRecord) -> None: ...
    def get_upload(self, command_id: str) -> UploadRecord | None: ...

    # alerts
    def add_alerts(self, alerts: Sequence[NewAlert]) -> list[int]: ...
    def bump_alert(
        self, alert_id: int, time_ms: int, finding: dict[str, Any] | None, count: int = 1
    ) -> None:
        """Suppressed repeats: add ``count`` and move last_seen (and the finding, when given)."""
        ...

    def list_alerts(
        self,
        *,
        since_ms: int | None = None,
        status: str | None = None,
        sensor_id: str | None = None,
        limit: int = 1000,
    ) -> list[AlertRecord]: ...
    def get_alert(self, alert_id: int) -> AlertRecord | None: ...
    def set_alert_status(self, alert_id: int, status: str) -> bool: ...
