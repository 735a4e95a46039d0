-- Losses the sensors report with their batches, summed per sensor and hour (collector receipt
-- time), so the console can show drops over time; trimmed with the events.
CREATE TABLE drop_history (
    sensor_id TEXT NOT NULL,
    hour_ms INTEGER NOT NULL,
    kernel INTEGER NOT NULL DEFAULT 0,
    spool_evicted INTEGER NOT NULL DEFAULT 0,
    spool_corrupt INTEGER NOT NULL DEFAULT 0,
    plugin INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sensor_id, hour_ms)
) WITHOUT ROWID;
CREATE INDEX drop_history_by_hour ON drop_history (hour_ms);
