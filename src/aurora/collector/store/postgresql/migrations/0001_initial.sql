-- Schema version 1 of the PostgreSQL store: the SQLite store's version 3 (batches kept whole, one
-- narrow index row per event), with events partitioned by day and duplicates refused by a key.

CREATE TABLE sensor_keys (
    key SERIAL PRIMARY KEY,
    sensor_id TEXT NOT NULL UNIQUE
);

CREATE TABLE sequences (
    sensor_id TEXT PRIMARY KEY,
    high_water BIGINT NOT NULL DEFAULT 0
);

-- One row per stored range of a sensor's sequence numbers, keyed by the high-water mark it was
-- stored after. Two nodes that both read the same mark and store the same events would insert
-- the same key: the second waits for the first to commit and is refused, then reads the new mark
-- and keeps only what is newer. No (sensor, seq) is stored twice, whatever the interleaving.
CREATE TABLE sequence_links (
    host INTEGER NOT NULL,
    after_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    recorded_ms BIGINT NOT NULL,
    PRIMARY KEY (host, after_seq)
);

CREATE TABLE gaps (
    id BIGSERIAL PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    first_missing BIGINT NOT NULL,
    last_missing BIGINT NOT NULL,
    recorded_ms BIGINT NOT NULL
);
CREATE INDEX gaps_sensor ON gaps (sensor_id);

-- Batches and their index rows are partitioned by part_ms: the batch's latest event time (kept
-- within bounds, see partitions.py), the same for a batch and all its rows, so dropping one
-- day's partitions removes whole batches with their rows.
CREATE SEQUENCE event_batches_id_seq AS BIGINT;
CREATE TABLE event_batches (
    id BIGINT NOT NULL,
    host INTEGER NOT NULL,
    first_seq BIGINT NOT NULL,
    count INTEGER NOT NULL,
    -- Events of the batch that got index rows (the rest were duplicates): a dropped day's
    -- event count is the sum of these, with no scan of its rows.
    stored INTEGER NOT NULL,
    received_ms BIGINT NOT NULL,
    max_time_ms BIGINT NOT NULL,
    part_ms BIGINT NOT NULL,
    codec SMALLINT NOT NULL,
    size BIGINT NOT NULL,
    -- Compressed bytes plus an estimate of the index rows: what size-bound retention counts.
    stored_bytes BIGINT NOT NULL,
    data BYTEA NOT NULL
) PARTITION BY RANGE (part_ms);
CREATE INDEX event_batches_id ON event_batches (id);
CREATE INDEX event_batches_max_time ON event_batches (max_time_ms);

-- id = batch id << 17 | position of the event in its batch; seq = first_seq + position.
CREATE TABLE events (
    id BIGINT NOT NULL,
    host INTEGER NOT NULL,
    part_ms BIGINT NOT NULL,
    time_ms BIGINT NOT NULL,
    class_uid BIGINT NOT NULL,
    pid BIGINT,
    process_name TEXT NOT NULL DEFAULT ''
) PARTITION BY RANGE (part_ms);
-- Ids grow with arrival, so a block-range index finds a batch's rows at a fraction of the cost.
CREATE INDEX events_id ON events USING brin (id) WITH (pages_per_range = 16);
CREATE INDEX events_host_time ON events (host, time_ms);
CREATE INDEX events_time ON events (time_ms);
CREATE INDEX events_class_time ON events (class_uid, time_ms);
CREATE INDEX events_process ON events (process_name, time_ms);

-- The days that have partitions, so retention finds them without parsing catalog bounds.
CREATE TABLE event_partitions (
    day_start BIGINT PRIMARY KEY
);

CREATE FUNCTION aurora_event_partition(day_start BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    suffix TEXT := to_char(to_timestamp(day_start / 1000) AT TIME ZONE 'UTC', 'YYYYMMDD');
BEGIN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF event_batches'
        ' FOR VALUES FROM (%s) TO (%s)', 'event_batches_' || suffix, day_start,
        day_start + 86400000);
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF events'
        ' FOR VALUES FROM (%s) TO (%s)', 'events_' || suffix, day_start, day_start + 86400000);
    INSERT INTO event_partitions VALUES (day_start) ON CONFLICT DO NOTHING;
END $$;

CREATE FUNCTION aurora_drop_event_partition(day_start BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    suffix TEXT := to_char(to_timestamp(day_start / 1000) AT TIME ZONE 'UTC', 'YYYYMMDD');
BEGIN
    -- In the order ingest takes the tables, so a drop and a commit never wait on each other.
    EXECUTE format('DROP TABLE IF EXISTS %I', 'event_batches_' || suffix);
    EXECUTE format('DROP TABLE IF EXISTS %I', 'events_' || suffix);
    DELETE FROM event_partitions p WHERE p.day_start = aurora_drop_event_partition.day_start;
END $$;

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
    enrolled_ms BIGINT NOT NULL DEFAULT 0,
    last_seen_ms BIGINT NOT NULL DEFAULT 0,
    cert_not_after_ms BIGINT NOT NULL DEFAULT 0,
    revoked INTEGER NOT NULL DEFAULT 0,
    revoked_ms BIGINT NOT NULL DEFAULT 0,
    connected INTEGER NOT NULL DEFAULT 0,
    health TEXT NOT NULL DEFAULT 'unknown',
    capabilities TEXT NOT NULL DEFAULT '[]',
    spool_bytes BIGINT NOT NULL DEFAULT 0,
    spool_max_bytes BIGINT NOT NULL DEFAULT 0,
    queue_depth BIGINT NOT NULL DEFAULT 0,
    drops_kernel BIGINT NOT NULL DEFAULT 0,
    drops_spool_evicted BIGINT NOT NULL DEFAULT 0,
    drops_spool_corrupt BIGINT NOT NULL DEFAULT 0,
    isolation TEXT NOT NULL DEFAULT 'unknown',
    counters TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX hosts_hostname ON hosts (hostname);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    uses_allowed BIGINT NOT NULL,
    uses BIGINT NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT ''
);

CREATE TABLE commands (
    command_id TEXT PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    params TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL DEFAULT 0,
    requested_by TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'queued',
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    error_code TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL DEFAULT '{}',
    updated_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX commands_sensor_state ON commands (sensor_id, state);

CREATE TABLE uploads (
    command_id TEXT PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    path TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL DEFAULT '',
    complete INTEGER NOT NULL DEFAULT 0,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE alerts (
    alert_id BIGSERIAL PRIMARY KEY,
    rule_uid TEXT NOT NULL,
    sensor_id TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    severity_id INTEGER NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    count BIGINT NOT NULL DEFAULT 1,
    finding TEXT NOT NULL
);
CREATE INDEX alerts_time ON alerts (last_seen_ms);
CREATE INDEX alerts_status ON alerts (status, last_seen_ms);
