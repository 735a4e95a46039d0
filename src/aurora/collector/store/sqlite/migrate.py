"""Versioned schema migrations: numbered SQL files applied in order, recorded in a version table.

A database records the highest migration applied; opening it applies the rest, each in its own
transaction, so an interrupted upgrade resumes where it stopped. A database newer than this code
is refused rather than guessed at. The collector's store and the API's account store share this
runner, each with its own migrations package and version table, so the two schemas evolve
independently inside one file.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources

from aurora.collector.store.base import StoreError
from aurora.errors import AuroraError

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


STORE_MIGRATIONS = "aurora.collector.store.sqlite.migrations"


def load_migrations(
    package: str = STORE_MIGRATIONS, error: type[AuroraError] = StoreError
) -> list[Migration]:
    """Every migration shipped in ``package``, in version order, with no version missing."""
    found: list[Migration] = []
    for entry in resources.files(package).iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda mig: mig.version)
    for expected, mig in enumerate(found, start=1):
        if mig.version != expected:
            raise error(f"migration {expected:04d} is missing (found {mig.version:04d})")
    return found


def to_apply(
    migrations: list[Migration], have: int, target: int | None, error: type[AuroraError]
) -> list[Migration]:
    """The migrations after version ``have`` up to ``target`` (default: the latest). A database
    newer than every migration here was written by a newer Aurora: refused, never guessed at."""
    latest = migrations[-1].version if migrations else 0
    if have > latest:
        raise error(
            f"database schema version {have} is newer than this Aurora ({latest}); upgrade Aurora"
        )
    target = latest if target is None else target
    return [mig for mig in migrations if have < mig.version <= target]


def current_version(conn: sqlite3.Connection, table: str = "schema_version") -> int:
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {table} "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)"
    )
    row = conn.execute(f"SELECT MAX(version) FROM {table}").fetchone()
    return int(row[0] or 0)


def migrate(
    conn: sqlite3.Connection,
    target: int | None = None,
    *,
    package: str = STORE_MIGRATIONS,
    table: str = "schema_version",
    error: type[AuroraError] = StoreError,
) -> int:
    """Bring ``conn`` up to ``target`` (default: the latest); return the resulting version."""
    migrations = load_migrations(package, error)
    have = current_version(conn, table)
    for mig in to_apply(migrations, have, target, error):
        # executescript commits first, so run each statement inside an explicit transaction.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(mig.sql):
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {table} (version, name, applied_ms) VALUES (?, ?, ?)",
                (mig.version, mig.name, int(time.time() * 1000)),
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise error(f"migration {mig.version:04d}_{mig.name} failed: {exc}") from None
        have = mig.version
    return have


def _statements(sql: str) -> list[str]:
    """Split a migration file into statements (our SQL files hold no semicolons in literals)."""
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
