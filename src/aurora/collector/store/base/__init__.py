"""The collector's storage contract: one Protocol per area, composed into :class:`Store`.

Everything the collector, the API and the CLI keep goes through :class:`Store`: events and their
per-sensor sequence high-water marks and gaps (:mod:`.events`), the fleet table (:mod:`.hosts`),
enrolment tokens (:mod:`.tokens`), response commands (:mod:`.commands`), uploads
(:mod:`.uploads`), alerts (:mod:`.alerts`) and update packages and rollouts
(:mod:`.updates`). Records are frozen dataclasses so callers never
depend on a backend's row type. A backend implements the areas one by one; each area has one test
suite (tests/collector/store/) that runs against every implementation, so a backend is correct
when those suites pass.

Times are integers in milliseconds since the epoch (``*_ms``), as OCSF ``time`` is.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from aurora.collector.store.base.alerts import (
    ALERT_STATUSES,
    AlertRecord,
    AlertRepeat,
    AlertStatus,
    AlertStore,
    NewAlert,
)
from aurora.collector.store.base.commands import (
    FINAL_COMMAND_STATES,
    CommandRecord,
    CommandState,
    CommandStore,
)
from aurora.collector.store.base.events import (
    DropDelta,
    DropSample,
    EventQuery,
    EventStore,
    Gap,
    HighWaterMoved,
    IncomingBatch,
    IngestResult,
    StoredEvent,
)
from aurora.collector.store.base.hosts import HostRecord, HostStatus, HostStore, UnknownHost
from aurora.collector.store.base.tokens import TokenRecord, TokenRejected, TokenStore
from aurora.collector.store.base.updates import (
    PackageRecord,
    RolloutRecord,
    RolloutTarget,
    UpdateStore,
)
from aurora.collector.store.base.uploads import UploadRecord, UploadStore
from aurora.errors import AuroraError

__all__ = [
    "ALERT_STATUSES",
    "FINAL_COMMAND_STATES",
    "AlertRecord",
    "AlertRepeat",
    "AlertStatus",
    "AlertStore",
    "CommandRecord",
    "CommandState",
    "CommandStore",
    "DropDelta",
    "DropSample",
    "EventQuery",
    "EventStore",
    "Gap",
    "HighWaterMoved",
    "HostRecord",
    "HostStatus",
    "HostStore",
    "IncomingBatch",
    "IngestResult",
    "NewAlert",
    "PackageRecord",
    "RolloutRecord",
    "RolloutTarget",
    "Store",
    "StoreError",
    "StoredEvent",
    "TokenRecord",
    "TokenRejected",
    "TokenStore",
    "UnknownHost",
    "UpdateStore",
    "UploadRecord",
    "UploadStore",
]


class StoreError(AuroraError):
    """The store cannot be opened or migrated (bad path, newer schema, corrupt file)."""


@runtime_checkable
class Store(
    EventStore, HostStore, TokenStore, CommandStore, UploadStore, AlertStore, UpdateStore, Protocol
):
    """Persistent state of one collector. Implementations must be safe to call from any thread."""

    def close(self) -> None: ...
    def schema_version(self) -> int: ...
