"""Connection plumbing shared by every SQLite-backed store (the collector's and the API's accounts).

One connection in autocommit mode serves every thread behind a lock; writes run in explicit
``BEGIN IMMEDIATE`` transactions so a writer never upgrades a read lock halfway. The file is
0600 because it holds telemetry, token hashes and password hashes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aurora.collector.store.sqlite.file_check import DamagedDatabase, advice, check_database_files
from aurora.errors import AuroraError

BASE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON")


class SQLiteDatabase:
    """Open ``path`` (``:memory:`` works for tests), apply pragmas, run ``migrate``.

    The class attributes and ``_insert_id``/``_text`` are SQLite's dialect for the SQL both
    backends share (:class:`~aurora.collector.store.sql_dialect.SQLDatabase`).
    """

    PARAM = "?"
    GREATEST = "MAX"
    FOR_UPDATE = ""  # BEGIN IMMEDIATE already makes this connection the only writer
    DUPLICATE_KEY: type[Exception] = sqlite3.IntegrityError

    def __init__(
        self,
        path: Path | str,
        *,
        pragmas: Sequence[str],
        migrate: Callable[[sqlite3.Connection], int],
        error: type[AuroraError],
        what: str,
    ) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                # Before SQLite opens it: SQLite would silently discard a damaged WAL.
                check_database_files(Path(self.path))
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            for pragma in (*BASE_PRAGMAS, *pragmas):
                self._conn.execute(pragma)
            self._version = migrate(self._conn)
        except DamagedDatabase as exc:
            raise error(
                f"cannot open the {what} {self.path}: {exc}; {advice(Path(self.path))}"
            ) from None
        except sqlite3.OperationalError as exc:  # locked, unreadable, I/O error: not damage
            raise error(f"cannot open the {what} {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
            raise error(
                f"cannot open the {what} {self.path}: it is damaged ({exc}); "
                f"{advice(Path(self.path))}"
            ) from None
        if self.path != ":memory:":
            os.chmod(self.path, 0o600)
        self._lock = threading.RLock()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _insert_id(
        self, conn: sqlite3.Connection, sql: str, params: Sequence[Any], id_column: str
    ) -> int:
        """The rowid SQLite gave the row (``id_column`` is the rowid's alias)."""
        return int(conn.execute(sql, params).lastrowid or 0)

    def _one_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` is one of ``values``: an ``IN`` list (SQLite has no arrays)."""
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    def _text(self, value: object) -> object:
        return value  # SQLite's text keeps any string, NUL included

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def schema_version(self) -> int:
        return self._version
