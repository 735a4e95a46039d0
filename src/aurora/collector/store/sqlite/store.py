"""The embedded store: one SQLite file in WAL mode, composed from one mixin per area.

One connection guarded by a lock serves every thread (:mod:`.database`): SQLite allows a single
writer anyway. ``synchronous=FULL`` makes each commit durable before the collector acknowledges
the batch. Each area's SQL lives in its own module: the SQL both backends share in the
``sql_*`` modules of the store package, what only SQLite runs beside this one, which only opens
and closes the file.
"""

from __future__ import annotations

from pathlib import Path

from aurora.collector.store.base import StoreError
from aurora.collector.store.sql_alerts import SQLAlerts
from aurora.collector.store.sql_commands import SQLCommands
from aurora.collector.store.sql_hosts import SQLHosts
from aurora.collector.store.sql_updates import SQLUpdates
from aurora.collector.store.sql_uploads import SQLUploads
from aurora.collector.store.sqlite.events import SQLiteEvents
from aurora.collector.store.sqlite.migrate import migrate
from aurora.collector.store.sqlite.tokens import SQLiteTokens


class SQLiteStore(
    SQLiteEvents,
    SQLHosts,
    SQLiteTokens,
    SQLCommands,
    SQLUploads,
    SQLAlerts,
    SQLUpdates,
):
    """A :class:`~aurora.collector.store.base.Store` over one SQLite file (``:memory:`` works
    for tests)."""

    def __init__(self, path: Path | str, *, migrate_to: int | None = None) -> None:
        super().__init__(
            path,
            pragmas=(
                "PRAGMA synchronous=FULL",
                "PRAGMA cache_size=-65536",
                # A multi-row INSERT keeps a statement journal; in memory it costs no system calls.
                "PRAGMA temp_store=MEMORY",
            ),
            migrate=lambda conn: migrate(conn, migrate_to),
            error=StoreError,
            what="store",
        )
        self._open_events()

    def close(self) -> None:
        self._close_events()
        super().close()
