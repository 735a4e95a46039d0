"""Every account store area suite against :class:`PostgreSQLAccounts`, a fresh database each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.accounts.suites import (
    AlertAnnotationsSuite,
    ApiTokensSuite,
    AuditLogSuite,
    DisabledRulesSuite,
    LoginThrottleSuite,
    SessionsSuite,
    UsersSuite,
)
from aurora.collector.store.accounts.postgresql import PostgreSQLAccounts

pytestmark = pytest.mark.postgresql


class PostgreSQLBackend:
    @pytest.fixture
    def accounts(self, pg_url: str) -> Iterator[PostgreSQLAccounts]:
        store = PostgreSQLAccounts(pg_url)
        yield store
        store.close()


class TestPostgreSQLUsers(UsersSuite, PostgreSQLBackend): ...


class TestPostgreSQLSessions(SessionsSuite, PostgreSQLBackend): ...


class TestPostgreSQLApiTokens(ApiTokensSuite, PostgreSQLBackend): ...


class TestPostgreSQLLoginThrottle(LoginThrottleSuite, PostgreSQLBackend): ...


class TestPostgreSQLAlertAnnotations(AlertAnnotationsSuite, PostgreSQLBackend): ...


class TestPostgreSQLDisabledRules(DisabledRulesSuite, PostgreSQLBackend): ...


class TestPostgreSQLAuditLog(AuditLogSuite, PostgreSQLBackend): ...
