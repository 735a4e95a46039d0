-- Schema version 2: triage and other uploads received from sensors.
CREATE TABLE uploads (
    command_id TEXT PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL DEFAULT '',
    complete INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL
);
