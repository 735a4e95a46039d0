-- Console accounts, sessions, API tokens, login throttling, audit log and analyst annotations.
-- Tables are prefixed api_ because they share aurora.db with the collector's own schema.
CREATE TABLE api_users (
    user_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE api_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES api_users (user_id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX api_sessions_user ON api_sessions (user_id);
CREATE TABLE api_tokens (
    token_id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES api_users (user_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    last_used_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE api_login_failures (
    key TEXT NOT NULL,
    time_ms INTEGER NOT NULL
);
CREATE INDEX api_login_failures_key ON api_login_failures (key, time_ms);
CREATE TABLE api_audit (
    audit_id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    host TEXT NOT NULL,
    result TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX api_audit_time ON api_audit (time_ms);
CREATE TABLE api_alert_assignments (
    alert_id INTEGER PRIMARY KEY,
    assignee TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE api_alert_comments (
    comment_id INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    time_ms INTEGER NOT NULL
);
CREATE INDEX api_alert_comments_alert ON api_alert_comments (alert_id);
CREATE TABLE api_disabled_rules (
    rule_id TEXT PRIMARY KEY,
    disabled_by TEXT NOT NULL,
    time_ms INTEGER NOT NULL
);
