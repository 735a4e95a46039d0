"""What only the SQLite account store does: its composition, its file and its schema version.

The behaviour every backend shares is in the area suites under tests/api/accounts/.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aurora.collector.store.accounts import AccountError, AccountStore, AuditLog, SQLiteAccounts
from aurora.collector.store.sqlite import SQLiteStore


def test_implements_both_protocols(tmp_path: Path) -> None:
    accounts = SQLiteAccounts(tmp_path / "aurora.db")
    assert isinstance(accounts, AccountStore)
    assert isinstance(accounts, AuditLog)
    assert accounts.schema_version() == 1
    accounts.close()


def test_shares_the_collector_database_with_its_own_schema_version(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "aurora.db")
    accounts = SQLiteAccounts(tmp_path / "aurora.db")
    reopened = SQLiteAccounts(tmp_path / "aurora.db")  # migrating twice is a no-op
    assert reopened.schema_version() == accounts.schema_version() == 1
    with sqlite3.connect(tmp_path / "aurora.db") as conn:
        api_versions = conn.execute("SELECT version FROM api_schema_version").fetchall()
        collector_versions = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    assert api_versions == [(1,)]
    assert collector_versions[0] == store.schema_version()
    for s in (reopened, accounts, store):
        s.close()


def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    SQLiteAccounts(tmp_path / "aurora.db").close()
    with sqlite3.connect(tmp_path / "aurora.db") as conn:
        conn.execute("INSERT INTO api_schema_version VALUES (99, 'future', 0)")
    with pytest.raises(AccountError, match="newer than this Aurora"):
        SQLiteAccounts(tmp_path / "aurora.db")


def test_refuses_an_account_schema_newer_than_this_code(tmp_path: Path) -> None:
    import sqlite3

    from aurora.collector.store.accounts.base import AccountError
    from aurora.collector.store.accounts.sqlite import SQLiteAccounts

    path = tmp_path / "aurora.db"
    SQLiteAccounts(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO api_schema_version VALUES (99, 'future', 0)")
    conn.close()
    with pytest.raises(AccountError, match="schema version 99 is newer"):
        SQLiteAccounts(path)
