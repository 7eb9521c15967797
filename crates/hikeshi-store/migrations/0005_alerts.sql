-- Alerts from live monitoring: one row per rule, host and user within a window, with a count
-- and a few of the matching events kept.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    dedup_key TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    level TEXT NOT NULL,
    tags TEXT NOT NULL,
    source TEXT NOT NULL,
    host TEXT NOT NULL,
    user_name TEXT NOT NULL,
    status TEXT NOT NULL,
    count BIGINT NOT NULL,
    events TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alerts_dedup ON alerts(dedup_key, last_seen);
CREATE INDEX alerts_status ON alerts(status, last_seen)
