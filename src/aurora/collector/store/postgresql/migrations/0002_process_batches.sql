-- Schema version 2: the process-name index lists batches, not events (as SQLite's version 4).
--
-- A per-event (process_name, time_ms) index takes each batch's rows at as many places in the
-- B-tree as the batch has process names; one row per (name, batch) finds the same events: a
-- search walks the batches holding the name, newest first, and filters their rows by name.
-- The table is partitioned like the events, so a dropped day takes its rows along.

CREATE TABLE process_batches (
    process_name TEXT NOT NULL,
    batch BIGINT NOT NULL,
    part_ms BIGINT NOT NULL,
    PRIMARY KEY (process_name, batch, part_ms)
) PARTITION BY RANGE (part_ms);
CREATE INDEX process_batches_batch ON process_batches (batch);

CREATE OR REPLACE FUNCTION aurora_event_partition(day_start BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    suffix TEXT := to_char(to_timestamp(day_start / 1000) AT TIME ZONE 'UTC', 'YYYYMMDD');
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['event_batches', 'events', 'process_batches'] LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I'
            ' FOR VALUES FROM (%s) TO (%s)', name || '_' || suffix, name, day_start,
            day_start + 86400000);
    END LOOP;
    INSERT INTO event_partitions VALUES (day_start) ON CONFLICT DO NOTHING;
END $$;

CREATE OR REPLACE FUNCTION aurora_drop_event_partition(day_start BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    suffix TEXT := to_char(to_timestamp(day_start / 1000) AT TIME ZONE 'UTC', 'YYYYMMDD');
    name TEXT;
BEGIN
    -- In the order ingest takes the tables, so a drop and a commit never wait on each other.
    FOREACH name IN ARRAY ARRAY['event_batches', 'events', 'process_batches'] LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I', name || '_' || suffix);
    END LOOP;
    DELETE FROM event_partitions p WHERE p.day_start = aurora_drop_event_partition.day_start;
END $$;

-- Existing days get their process_batches partition, then their rows.
SELECT aurora_event_partition(day_start) FROM event_partitions;

INSERT INTO process_batches (process_name, batch, part_ms)
SELECT DISTINCT process_name, id >> 17, part_ms FROM events WHERE process_name <> '';

DROP INDEX events_process;
