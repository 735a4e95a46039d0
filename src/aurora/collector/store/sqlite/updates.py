"""The updates area over SQLite: the shared SQL of :mod:`aurora.collector.store.sql_updates`."""

from __future__ import annotations

from aurora.collector.store.sql_updates import SQLUpdates
from aurora.collector.store.sqlite.database import SQLiteDatabase


class SQLiteUpdates(SQLUpdates, SQLiteDatabase):
    """:class:`~aurora.collector.store.base.UpdateStore` over the store's connection."""

    PARAM = "?"
