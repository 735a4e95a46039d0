-- Signed self-update: packages staged on the collector and the rollouts that send them.
CREATE TABLE update_packages (
    sha256 TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    platform TEXT NOT NULL,
    size BIGINT NOT NULL,
    path TEXT NOT NULL,
    key_id TEXT NOT NULL DEFAULT '',
    created_ms BIGINT NOT NULL
);
CREATE TABLE rollouts (
    rollout_id TEXT PRIMARY KEY,
    package_sha256 TEXT NOT NULL REFERENCES update_packages (sha256),
    version TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    requested_by TEXT NOT NULL DEFAULT '',
    percent INTEGER NOT NULL,
    confirm_within_s INTEGER NOT NULL
);
CREATE INDEX rollouts_by_time ON rollouts (created_ms);
CREATE TABLE rollout_targets (
    command_id TEXT PRIMARY KEY,
    rollout_id TEXT NOT NULL REFERENCES rollouts (rollout_id),
    sensor_id TEXT NOT NULL
);
CREATE INDEX rollout_targets_by_rollout ON rollout_targets (rollout_id);
