-- The newest alert of a (sensor, rule, dedup key): what suppressed repeats fold into, and what a
-- worker that has not yet seen a key (it started, or took another's sensors) checks before it
-- raises a new alert. One index lookup, inside the transaction storing the repeats' events.
CREATE INDEX alerts_key ON alerts (sensor_id, rule_uid, dedup_key, alert_id);
