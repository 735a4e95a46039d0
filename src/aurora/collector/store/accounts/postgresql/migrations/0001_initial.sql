-- Console accounts, sessions, API tokens, login throttling, audit log and analyst annotations,
-- in the collector's PostgreSQL database (prefixed api_, with their own version table).
CREATE TABLE api_users (
    user_id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
-- Names are unique without regard to case, as on SQLite (COLLATE NOCASE).
CREATE UNIQUE INDEX api_users_name ON api_users (lower(name));
CREATE TABLE api_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES api_users (user_id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX api_sessions_user ON api_sessions (user_id);
CREATE TABLE api_tokens (
    token_id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES api_users (user_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    last_used_ms BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE api_login_failures (
    key TEXT NOT NULL,
    time_ms BIGINT NOT NULL
);
CREATE INDEX api_login_failures_key ON api_login_failures (key, time_ms);
CREATE TABLE api_audit (
    audit_id BIGSERIAL PRIMARY KEY,
    time_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    host TEXT NOT NULL,
    result TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX api_audit_time ON api_audit (time_ms);
CREATE TABLE api_alert_assignments (
    alert_id BIGINT PRIMARY KEY,
    assignee TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE TABLE api_alert_comments (
    comment_id BIGSERIAL PRIMARY KEY,
    alert_id BIGINT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    time_ms BIGINT NOT NULL
);
CREATE INDEX api_alert_comments_alert ON api_alert_comments (alert_id);
CREATE TABLE api_disabled_rules (
    rule_id TEXT PRIMARY KEY,
    disabled_by TEXT NOT NULL,
    time_ms BIGINT NOT NULL
);
