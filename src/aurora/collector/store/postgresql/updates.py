"""The updates area over PostgreSQL: the shared SQL of :mod:`aurora.collector.store.sql_updates`."""

from __future__ import annotations

from aurora.collector.store.postgresql.database import PostgresDatabase
from aurora.collector.store.sql_updates import SQLUpdates


class PostgresUpdates(SQLUpdates, PostgresDatabase):
    """:class:`~aurora.collector.store.base.UpdateStore` over the store's pool."""

    PARAM = "%s"
