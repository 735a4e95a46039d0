-- Schema version 3: events are kept per batch (one JSON array, compressed) with one narrow index
-- row per event, instead of one row holding each event's JSON (see eventpack.py for why).
-- Existing events become one-event batches (uncompressed, codec 0) that keep their sequence
-- numbers, times and index columns; event ids become (old id << 17).

-- A small integer per sensor, so index rows do not repeat a 36-character id.
CREATE TABLE sensor_keys (
    key INTEGER PRIMARY KEY,
    sensor_id TEXT NOT NULL UNIQUE
);

-- AUTOINCREMENT: a batch id (and so an event id) is never reused, even after retention emptied
-- the table.
CREATE TABLE event_batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    max_time_ms INTEGER NOT NULL,
    codec INTEGER NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX event_batches_max_time ON event_batches (max_time_ms);

-- id = batch id << 17 | position of the event in its batch; seq = first_seq + position.
CREATE TABLE event_index (
    id INTEGER PRIMARY KEY,
    host INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    class_uid INTEGER NOT NULL,
    pid INTEGER,
    process_name TEXT NOT NULL DEFAULT ''
);

INSERT INTO sensor_keys (sensor_id) SELECT DISTINCT sensor_id FROM events ORDER BY sensor_id;

INSERT INTO event_batches (id, host, first_seq, count, received_ms, max_time_ms, codec, size, data)
SELECT e.id, k.key, e.seq, 1, e.received_ms, e.time_ms, 0,
    length(CAST('[' || e.data || ']' AS BLOB)), CAST('[' || e.data || ']' AS BLOB)
FROM events e
JOIN sensor_keys k ON k.sensor_id = e.sensor_id;

INSERT INTO event_index (id, host, time_ms, class_uid, pid, process_name)
SELECT e.id * 131072, k.key, e.time_ms, e.class_uid, e.pid, e.process_name
FROM events e
JOIN sensor_keys k ON k.sensor_id = e.sensor_id;

DROP TABLE events;
ALTER TABLE event_index RENAME TO events;

-- Hunting filters: host and time, time alone (newest first), class, process.
CREATE INDEX events_host_time ON events (host, time_ms);
CREATE INDEX events_time ON events (time_ms);
CREATE INDEX events_class_time ON events (class_uid, time_ms);
CREATE INDEX events_process ON events (process_name, time_ms);
