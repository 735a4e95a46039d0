"""Every account area's shared SQL in one mixin, which each backend's account store combines with
its database class."""

from __future__ import annotations

from aurora.collector.store.accounts.sql_annotations import (
    SQLAlertAnnotations,
    SQLAuditLog,
    SQLDisabledRules,
)
from aurora.collector.store.accounts.sql_api_tokens import SQLApiTokens
from aurora.collector.store.accounts.sql_users import SQLLoginThrottle, SQLSessions, SQLUsers


class SQLAccountAreas(
    SQLUsers,
    SQLSessions,
    SQLApiTokens,
    SQLLoginThrottle,
    SQLAlertAnnotations,
    SQLDisabledRules,
    SQLAuditLog,
):
    """:class:`~.base.AccountStore` and :class:`~.base.AuditLog`, in SQL both backends run."""
