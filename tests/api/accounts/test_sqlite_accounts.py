"""Every account store area suite against :class:`SQLiteAccounts`, one fresh file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
from aurora.collector.store.accounts import SQLiteAccounts


class SQLiteBackend:
    @pytest.fixture
    def accounts(self, tmp_path: Path) -> Iterator[SQLiteAccounts]:
        store = SQLiteAccounts(tmp_path / "aurora.db")
        yield store
        store.close()


class TestSQLiteUsers(UsersSuite, SQLiteBackend): ...


class TestSQLiteSessions(SessionsSuite, SQLiteBackend): ...


class TestSQLiteApiTokens(ApiTokensSuite, SQLiteBackend): ...


class TestSQLiteLoginThrottle(LoginThrottleSuite, SQLiteBackend): ...


class TestSQLiteAlertAnnotations(AlertAnnotationsSuite, SQLiteBackend): ...


class TestSQLiteDisabledRules(DisabledRulesSuite, SQLiteBackend): ...


class TestSQLiteAuditLog(AuditLogSuite, SQLiteBackend): ...
