"""The account store contract: one suite per area, run against every backend (tests/api/accounts/).

Each class is a mixin (not collected by itself) whose tests use an ``accounts`` fixture that a
backend module supplies. Sessions and API tokens belong to users, so their suites add users too.
"""

from __future__ import annotations

import pytest

from aurora.collector.store.accounts import (
    AccountStore,
    AlertAnnotations,
    AuditEntry,
    AuditLog,
    AuditQuery,
    DisabledRules,
    LoginThrottle,
    SessionRecord,
    UserExists,
    UserStore,
)


class UsersSuite:
    """Users: names unique without regard to case, roles, removal."""

    def test_users_crud_and_case_insensitive_names(self, accounts: UserStore) -> None:
        alice = accounts.add_user("alice", "analyst", "h1", 10)
        with pytest.raises(UserExists):
            accounts.add_user("ALICE", "viewer", "h2", 11)
        assert accounts.get_user("Alice") == alice
        assert accounts.get_user_by_id(alice.user_id) == alice
        assert accounts.set_role("alice", "admin")
        assert accounts.get_user("alice").role == "admin"  # type: ignore[union-attr]
        assert not accounts.set_role("nobody", "admin")
        accounts.add_user("bob", "viewer", "h3", 12)
        assert [u.name for u in accounts.list_users()] == ["alice", "bob"]
        assert accounts.remove_user("bob")
        assert not accounts.remove_user("bob")
        assert accounts.get_user("bob") is None


class SessionsSuite:
    """Browser sessions: expiry, and ending with their user or password."""

    def test_sessions_expire_and_die_with_user_or_password(self, accounts: AccountStore) -> None:
        u = accounts.add_user("carol", "viewer", "h", 1)
        accounts.add_session(SessionRecord("s1", u.user_id, "csrf", 100, 200))
        assert accounts.get_session("s1", 150) is not None
        assert accounts.get_session("s1", 200) is None  # expired exactly at expires_ms
        accounts.add_session(SessionRecord("s2", u.user_id, "csrf", 100, 10_000))
        assert accounts.set_password("carol", "new-hash")
        assert accounts.get_session("s2", 150) is None
        accounts.add_session(SessionRecord("s3", u.user_id, "csrf", 100, 10_000))
        accounts.delete_session("s3")
        assert accounts.get_session("s3", 150) is None
        accounts.add_session(SessionRecord("s4", u.user_id, "csrf", 100, 10_000))
        accounts.remove_user("carol")
        assert accounts.get_session("s4", 150) is None


class ApiTokensSuite:
    """API tokens: expiry, recorded use, revocation by their owner only."""

    def test_api_tokens_expire_record_use_and_revoke(self, accounts: AccountStore) -> None:
        u = accounts.add_user("dave", "analyst", "h", 1)
        other = accounts.add_user("erin", "analyst", "h", 1)
        forever = accounts.add_api_token("t1", u.user_id, "ci", 100, 0)
        accounts.add_api_token("t2", u.user_id, "short", 100, 500)
        got = accounts.get_api_token("t1", 10**13)
        assert got is not None and got.token_id == forever.token_id
        assert accounts.list_api_tokens(u.user_id)[0].last_used_ms == 10**13
        assert accounts.get_api_token("t2", 499) is not None
        assert accounts.get_api_token("t2", 500) is None
        assert not accounts.revoke_api_token(forever.token_id, other.user_id)  # not erin's token
        assert accounts.revoke_api_token(forever.token_id, u.user_id)
        assert accounts.get_api_token("t1", 200) is None
        assert {t.name for t in accounts.list_api_tokens()} == {"short"}


class LoginThrottleSuite:
    """Failed logins counted within a window."""

    def test_login_failures_count_within_window(self, accounts: LoginThrottle) -> None:
        for t in (100, 200, 300):
            accounts.record_login_failure("user:x", t)
        assert accounts.login_failures("user:x", 150) == 2
        assert accounts.login_failures("user:y", 0) == 0
        accounts.clear_login_failures("user:x")
        assert accounts.login_failures("user:x", 0) == 0


class AlertAnnotationsSuite:
    """Alert assignment and comments."""

    def test_alert_assignment_and_comments(self, accounts: AlertAnnotations) -> None:
        accounts.assign_alert(7, "alice", 1)
        accounts.assign_alert(7, "bob", 2)
        accounts.assign_alert(8, "carol", 2)
        assert accounts.assignees([7, 8, 9]) == {7: "bob", 8: "carol"}
        accounts.assign_alert(8, "", 3)
        assert accounts.assignees([8]) == {}
        accounts.add_comment(7, "bob", "looks bad", 5)
        accounts.add_comment(7, "alice", "contained", 6)
        assert [(c.author, c.text) for c in accounts.list_comments(7)] == [
            ("bob", "looks bad"),
            ("alice", "contained"),
        ]
        assert accounts.list_comments(8) == []


class DisabledRulesSuite:
    """The disabled-rule list."""

    def test_disabled_rules(self, accounts: DisabledRules) -> None:
        accounts.set_rule_disabled("r1", True, "admin", 1)
        accounts.set_rule_disabled("r2", True, "admin", 1)
        accounts.set_rule_disabled("r1", False, "admin", 2)
        assert accounts.disabled_rules() == {"r2"}


class AuditLogSuite:
    """The audit trail: filters, newest first, pages."""

    def test_audit_log_filters_newest_first_and_pages(self, accounts: AuditLog) -> None:
        for i in range(5):
            accounts.append(
                AuditEntry(1000 + i, "alice" if i % 2 else "bob", "action.isolate", f"c{i}", "h1")
            )
        accounts.append(AuditEntry(2000, "alice", "login", detail={"client": "1.2.3.4"}))
        newest = accounts.query(AuditQuery(limit=2))
        assert [e.action for e in newest] == ["login", "action.isolate"]
        assert newest[0].detail == {"client": "1.2.3.4"}
        assert [e.target for e in accounts.query(AuditQuery(actor="alice", host="h1"))] == [
            "c3",
            "c1",
        ]
        assert [
            e.target for e in accounts.query(AuditQuery(since_ms=1003, action="action.isolate"))
        ] == [
            "c4",
            "c3",
        ]
        assert [e.target for e in accounts.query(AuditQuery(limit=2, offset=2))] == ["c3", "c2"]
