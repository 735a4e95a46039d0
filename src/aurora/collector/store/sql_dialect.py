"""What SQL written once for both backends needs from a backend's database class: the dialect
members each of :class:`~.sqlite.database.SQLiteDatabase` and
:class:`~.postgresql.database.PostgresDatabase` defines, and helpers that apply them.

Shared SQL is written with ``?`` placeholders; :func:`sql` turns them into the backend's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol


class SQLDatabase(Protocol):
    """A backend's database, as the shared area mixins (``sql_*`` modules) use it."""

    #: The driver's placeholder: ``?`` (sqlite3) or ``%s`` (psycopg).
    PARAM: str
    #: The larger of two values: SQLite's two-argument ``MAX`` or PostgreSQL's ``GREATEST``.
    GREATEST: str
    #: Appended to a SELECT that reads a row the transaction then updates: PostgreSQL locks it
    #: (writers on other nodes wait); SQLite's single writer needs nothing.
    FOR_UPDATE: str
    #: What an INSERT raises on a duplicate unique key.
    DUPLICATE_KEY: type[Exception]

    def _tx(self) -> AbstractContextManager[Any]: ...
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def _insert_id(self, conn: Any, sql: str, params: Sequence[Any], id_column: str) -> int:
        """Run an INSERT of one row inside ``conn``'s transaction; the id it created."""
        ...

    def _text(self, value: object) -> object:
        """``value`` as the backend can keep it in a text column."""
        ...

    def _one_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """A condition (written with ``?``) that ``column`` is one of ``values``, and its
        parameters."""
        ...


def sql(db: SQLDatabase, text: str) -> str:
    """``text`` (written with ``?``) with the backend's placeholder."""
    return text if db.PARAM == "?" else text.replace("?", db.PARAM)


def rows(db: SQLDatabase, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of one shared query, outside any transaction."""
    return db._query(sql(db, text), params)


def marks(count: int) -> str:
    """``?, ?, ...``: the placeholders of an ``IN (...)`` list of ``count`` values."""
    return ", ".join("?" * count)


def given(*conditions: tuple[str, Any]) -> tuple[list[str], list[Any]]:
    """Of ``(condition, value)`` pairs, the conditions whose value is given (not None), and
    those values, in order."""
    kept = [(cond, value) for cond, value in conditions if value is not None]
    return [cond for cond, _ in kept], [value for _, value in kept]


def where(clauses: Sequence[str]) -> str:
    """`` WHERE a AND b``, or nothing when there is no clause."""
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""
