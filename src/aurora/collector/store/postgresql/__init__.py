"""The PostgreSQL backend of the collector's store: :class:`PostgreSQLStore` and its area mixins.

:mod:`.database` (a pool behind a checked first connection) and :mod:`.migrate` (numbered SQL
files, shared with the account store) serve both stores; :mod:`.partitions`, :mod:`.claims`,
:mod:`.ingest` and :mod:`.retention` are the events area's parts.
"""

from aurora.collector.store.postgresql.store import PostgreSQLStore

__all__ = ["PostgreSQLStore"]
