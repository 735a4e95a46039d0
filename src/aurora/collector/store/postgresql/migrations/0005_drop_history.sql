-- Losses the sensors report with their batches, summed per sensor and hour (collector receipt
-- time), so the console can show drops over time; trimmed with the events.
CREATE TABLE drop_history (
    sensor_id TEXT NOT NULL,
    hour_ms BIGINT NOT NULL,
    kernel BIGINT NOT NULL DEFAULT 0,
    spool_evicted BIGINT NOT NULL DEFAULT 0,
    spool_corrupt BIGINT NOT NULL DEFAULT 0,
    plugin BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (sensor_id, hour_ms)
);
CREATE INDEX drop_history_by_hour ON drop_history (hour_ms);
