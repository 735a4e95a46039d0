-- Schema version 4: the process-name index lists batches, not events.
--
-- A per-event (process_name, time_ms) index takes each batch's rows at as many places in the
-- B-tree as the batch has process names, and was a quarter of the writer's time per event. A
-- batch holds one host's events and usually a few dozen names, so one row per (name, batch)
-- finds the same events: a search walks the batches that hold the name, newest first, and
-- filters their event rows by name (events.process_name stays).

CREATE TABLE process_batches (
    process_name TEXT NOT NULL,
    batch INTEGER NOT NULL,
    PRIMARY KEY (process_name, batch)
) WITHOUT ROWID;
-- Retention deletes by batch.
CREATE INDEX process_batches_batch ON process_batches (batch);

INSERT INTO process_batches (process_name, batch)
SELECT DISTINCT process_name, id >> 17 FROM events WHERE process_name != '';

DROP INDEX events_process;
