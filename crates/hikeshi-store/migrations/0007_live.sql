-- Live monitoring, second part: addresses and the case an alert went to, idempotent hits,
-- suppression rules, automatic grouping into cases, and read positions of watched files.
ALTER TABLE alerts ADD COLUMN src_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN dst_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN case_id TEXT;
ALTER TABLE alerts ADD COLUMN suppression_id TEXT;
CREATE INDEX alerts_case ON alerts(case_id);
-- One row per (event, rule) ever recorded: a redelivered or resent event is not counted twice.
CREATE TABLE alert_hits (
    hit_key TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    seen_at BIGINT NOT NULL
);
-- Writers fold hits with the same key one at a time: the upsert on this row is the lock.
CREATE TABLE alert_locks (
    dedup_key TEXT PRIMARY KEY
);
CREATE TABLE suppressions (
    id TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL,
    host TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by TEXT NOT NULL DEFAULT '',
    hits BIGINT NOT NULL DEFAULT 0
);
-- The case that alerts with a grouping key go to while it is open and young enough.
CREATE TABLE alert_groups (
    group_key TEXT NOT NULL,
    case_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_groups_key ON alert_groups(group_key, created_at);
CREATE TABLE source_positions (
    path TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    size BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)
