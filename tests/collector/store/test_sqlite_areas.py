"""Every store area suite against :class:`SQLiteStore`, one fresh database file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora.collector.store.sqlite import SQLiteStore
from store.alerts_suite import AlertsSuite
from store.commands_suite import CommandsSuite
from store.events_suite import EventsSuite
from store.hosts_suite import HostsSuite
from store.tokens_suite import TokensSuite
from store.updates_suite import UpdatesSuite
from store.uploads_suite import UploadsSuite


class SQLiteBackend:
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteStore]:
        s = SQLiteStore(tmp_path / "aurora.db")
        yield s
        s.close()


class TestSQLiteEvents(EventsSuite, SQLiteBackend): ...


class TestSQLiteHosts(HostsSuite, SQLiteBackend): ...


class TestSQLiteTokens(TokensSuite, SQLiteBackend): ...


class TestSQLiteCommands(CommandsSuite, SQLiteBackend): ...


class TestSQLiteUploads(UploadsSuite, SQLiteBackend): ...


class TestSQLiteAlerts(AlertsSuite, SQLiteBackend): ...


class TestSQLiteUpdates(UpdatesSuite, SQLiteBackend): ...
