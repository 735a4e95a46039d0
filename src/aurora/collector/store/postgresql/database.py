"""Connection plumbing shared by every PostgreSQL-backed store (the collector's and the accounts).

A small pool of autocommit connections serves every thread; writes run in explicit transactions
(``_tx``). Opening checks the server with one direct connection first, so an unreachable server
or a wrong password is one line naming the server (never the password), not a pool timeout.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from aurora.errors import AuroraError

#: Seconds to wait for the server when connecting; a store that cannot reach it fails fast.
CONNECT_TIMEOUT_S = 10
POOL_SIZE = 8

Connection = psycopg.Connection[tuple[Any, ...]]


def is_postgresql_url(spec: str) -> bool:
    return spec.startswith(("postgresql://", "postgres://"))


def describe(url: str) -> str:
    """``postgresql://user@host:port/db``: the URL as it may be shown, without its password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(malformed URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


def one_line(exc: BaseException) -> str:
    """A driver message on one line (libpq's connection errors span several)."""
    return re.sub(r"\s+", " ", str(exc)).strip()


def clean_text(value: object) -> object:
    """``value`` as PostgreSQL can keep it. Its text type cannot hold NUL, which a sensor can
    send inside any string; a NUL becomes U+FFFD in columns (the event's JSON, kept as bytes,
    keeps it exactly), so a hostile string is stored rather than failing every retry."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


class PostgresDatabase:
    """Open ``url``, run ``migrate`` on one connection, then serve a pool of connections.

    The class attributes and ``_insert_id``/``_text`` are PostgreSQL's dialect for the SQL both
    backends share (:class:`~aurora.collector.store.sql_dialect.SQLDatabase`).
    """

    PARAM = "%s"
    GREATEST = "GREATEST"
    FOR_UPDATE = " FOR UPDATE"
    DUPLICATE_KEY: type[Exception] = psycopg.errors.UniqueViolation

    def __init__(
        self,
        url: str,
        *,
        migrate: Callable[[Connection], int],
        error: type[AuroraError],
        what: str,
    ) -> None:
        self.url = url
        self._error = error
        self._what = what
        where = describe(url)
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                self._version = migrate(conn)
        except psycopg.OperationalError as exc:  # refused, unreachable, wrong password, no db
            raise error(f"cannot open the {what} {where}: {one_line(exc)}") from None
        except psycopg.ProgrammingError as exc:  # a malformed URL
            raise error(f"cannot open the {what} {where}: {one_line(exc)}") from None
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
            min_size=1,
            max_size=POOL_SIZE,
            # A connection broken by a server restart is replaced, not handed out.
            check=ConnectionPool.check_connection,
            name=what,
            open=True,
        )

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def _insert_id(self, conn: Connection, sql: str, params: Sequence[Any], id_column: str) -> int:
        """The id the row got, handed back by ``RETURNING`` (PostgreSQL has no rowid)."""
        row = conn.execute(f"{sql} RETURNING {id_column}", params).fetchone()  # type: ignore[arg-type]
        return int(row[0]) if row else 0

    def _one_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` is one of ``values``: one array parameter, whatever their number."""
        return f"{column} = ANY(?)", [list(values)]

    def _text(self, value: object) -> object:
        return clean_text(value)

    def close(self) -> None:
        self._pool.close()

    def schema_version(self) -> int:
        return self._version
