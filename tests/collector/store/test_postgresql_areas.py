"""Every store area suite against :class:`PostgreSQLStore`, one fresh database per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aurora.collector.store.postgresql import PostgreSQLStore
from store.alerts_suite import AlertsSuite
from store.commands_suite import CommandsSuite
from store.events_suite import EventsSuite
from store.hosts_suite import HostsSuite
from store.tokens_suite import TokensSuite
from store.updates_suite import UpdatesSuite
from store.uploads_suite import UploadsSuite

pytestmark = pytest.mark.postgresql


class PostgreSQLBackend:
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[PostgreSQLStore]:
        s = PostgreSQLStore(pg_url)
        yield s
        s.close()


class TestPostgreSQLEvents(EventsSuite, PostgreSQLBackend): ...


class TestPostgreSQLHosts(HostsSuite, PostgreSQLBackend): ...


class TestPostgreSQLTokens(TokensSuite, PostgreSQLBackend): ...


class TestPostgreSQLCommands(CommandsSuite, PostgreSQLBackend): ...


class TestPostgreSQLUploads(UploadsSuite, PostgreSQLBackend): ...


class TestPostgreSQLAlerts(AlertsSuite, PostgreSQLBackend): ...


class TestPostgreSQLUpdates(UpdatesSuite, PostgreSQLBackend): ...
