"""Versioned PostgreSQL migrations: the numbered SQL files of a package, applied in order.

The files are found, checked and chosen by the SQLite runner's
:func:`~..sqlite.migrate.load_migrations` and :func:`~..sqlite.migrate.to_apply` (same naming,
same "no version missing" rule, same refusal of a newer database); what differs is how they
apply. PostgreSQL's DDL is transactional, so each migration and its row in the version table
commit together, and an advisory lock makes collector nodes starting at once apply each
migration exactly once.
"""

from __future__ import annotations

import time
import zlib

import psycopg

from aurora.collector.store.base import StoreError
from aurora.collector.store.postgresql.database import Connection, one_line
from aurora.collector.store.sqlite.migrate import load_migrations, to_apply
from aurora.errors import AuroraError

STORE_MIGRATIONS = "aurora.collector.store.postgresql.migrations"


def current_version(conn: Connection, table: str = "schema_version") -> int:
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {table}"
        " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)"
    )
    row = conn.execute(f"SELECT MAX(version) FROM {table}").fetchone()
    return int(row[0] or 0) if row else 0


def migrate(
    conn: Connection,
    target: int | None = None,
    *,
    package: str = STORE_MIGRATIONS,
    table: str = "schema_version",
    error: type[AuroraError] = StoreError,
) -> int:
    """Bring the database up to ``target`` (default: the latest); return the resulting version."""
    migrations = load_migrations(package, error)
    with conn.transaction():
        # Held to the end of this transaction: another node migrating waits, then finds it done.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(table.encode()),))
        have = current_version(conn, table)
    for mig in to_apply(migrations, have, target, error):
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(table.encode()),))
                if current_version(conn, table) >= mig.version:  # another node applied it
                    have = mig.version
                    continue
                conn.execute(mig.sql.encode())
                conn.execute(
                    f"INSERT INTO {table} (version, name, applied_ms) VALUES (%s, %s, %s)",
                    (mig.version, mig.name, int(time.time() * 1000)),
                )
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            raise error(f"migration {mig.version:04d}_{mig.name} failed: {one_line(exc)}") from None
        have = mig.version
    return have
