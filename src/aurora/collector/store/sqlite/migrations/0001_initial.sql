-- Schema version 1: events, sequence tracking, fleet, tokens, commands, alerts.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    class_uid INTEGER NOT NULL,
    hostname TEXT NOT NULL DEFAULT '',
    pid INTEGER,
    process_name TEXT NOT NULL DEFAULT '',
    received_ms INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX events_sensor_seq ON events (sensor_id, seq);
CREATE INDEX events_time ON events (time_ms);
CREATE INDEX events_class_time ON events (class_uid, time_ms);
CREATE INDEX events_process ON events (process_name, pid);

CREATE TABLE sequences (
    sensor_id TEXT PRIMARY KEY,
    high_water INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE gaps (
    id INTEGER PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    first_missing INTEGER NOT NULL,
    last_missing INTEGER NOT NULL,
    recorded_ms INTEGER NOT NULL
);
CREATE INDEX gaps_sensor ON gaps (sensor_id);

CREATE TABLE hosts (
    sensor_id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL DEFAULT '',
    os_name TEXT NOT NULL DEFAULT '',
    os_version TEXT NOT NULL DEFAULT '',
    kernel_version TEXT NOT NULL DEFAULT '',
    arch TEXT NOT NULL DEFAULT '',
    sensor_version TEXT NOT NULL DEFAULT '',
    machine_id TEXT NOT NULL DEFAULT '',
    ip_addresses TEXT NOT NULL DEFAULT '[]',
    enrolled_ms INTEGER NOT NULL DEFAULT 0,
    last_seen_ms INTEGER NOT NULL DEFAULT 0,
    cert_not_after_ms INTEGER NOT NULL DEFAULT 0,
    revoked INTEGER NOT NULL DEFAULT 0,
    revoked_ms INTEGER NOT NULL DEFAULT 0,
    connected INTEGER NOT NULL DEFAULT 0,
    health TEXT NOT NULL DEFAULT 'unknown',
    capabilities TEXT NOT NULL DEFAULT '[]',
    spool_bytes INTEGER NOT NULL DEFAULT 0,
    spool_max_bytes INTEGER NOT NULL DEFAULT 0,
    queue_depth INTEGER NOT NULL DEFAULT 0,
    drops_kernel INTEGER NOT NULL DEFAULT 0,
    drops_spool_evicted INTEGER NOT NULL DEFAULT 0,
    drops_spool_corrupt INTEGER NOT NULL DEFAULT 0,
    isolation TEXT NOT NULL DEFAULT 'unknown',
    counters TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX hosts_hostname ON hosts (hostname);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    uses_allowed INTEGER NOT NULL,
    uses INTEGER NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT ''
);

CREATE TABLE commands (
    command_id TEXT PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    params TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL DEFAULT 0,
    requested_by TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'queued',
    progress REAL NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    error_code TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL DEFAULT '{}',
    updated_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX commands_sensor_state ON commands (sensor_id, state);

CREATE TABLE alerts (
    alert_id INTEGER PRIMARY KEY,
    rule_uid TEXT NOT NULL,
    sensor_id TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    severity_id INTEGER NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    count INTEGER NOT NULL DEFAULT 1,
    finding TEXT NOT NULL
);
CREATE INDEX alerts_time ON alerts (last_seen_ms);
CREATE INDEX alerts_status ON alerts (status, last_seen_ms);
