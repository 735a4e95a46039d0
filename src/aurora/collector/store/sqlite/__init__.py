"""The SQLite backend of the collector's store: :class:`SQLiteStore` and its per-area mixins.

:mod:`.database` (one locked connection) and :mod:`.migrate` (numbered SQL files) are shared
with the account store; :mod:`.checkpointer` copies the WAL off the ingest writer's path.
"""

from aurora.collector.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
