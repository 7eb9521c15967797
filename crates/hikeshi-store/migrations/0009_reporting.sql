-- Management reporting: case milestones for response metrics, hourly alert roll-ups for the
-- dashboard, entries the team types in (external, HR and physical events, decisions, plans),
-- KPI level overrides, the controls registry and maturity self-checks.
ALTER TABLE cases ADD COLUMN source TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE cases ADD COLUMN acknowledged_at BIGINT;
ALTER TABLE cases ADD COLUMN contained_at BIGINT;
ALTER TABLE cases ADD COLUMN resolved_at BIGINT;
ALTER TABLE cases ADD COLUMN business_impact TEXT NOT NULL DEFAULT '';
CREATE INDEX alerts_created ON alerts(created_at);
-- The alert queue's "anything new?" poll reads these two maxima from indexes.
CREATE INDEX alerts_last_seen ON alerts(last_seen);
CREATE INDEX alerts_status_at ON alerts(status_at);
ALTER TABLE assets ADD COLUMN last_scanned_at BIGINT;
-- 1 when the event that opened the alert says a control stopped it (action blocked, denied…).
ALTER TABLE alerts ADD COLUMN blocked BIGINT NOT NULL DEFAULT 0;
-- Alerts created before `rolled_until` are counted in the hourly tables below. Alerts are
-- stamped with the time they are written, so past hours do not change once a margin is over.
CREATE TABLE alert_rollup_state (
    name TEXT PRIMARY KEY,
    rolled_until BIGINT NOT NULL
);
INSERT INTO alert_rollup_state (name, rolled_until) VALUES ('alerts', 0);
CREATE TABLE alert_rule_hourly (
    hour BIGINT NOT NULL,
    rule_id TEXT NOT NULL,
    level TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    tags TEXT NOT NULL,
    alerts BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    blocked BIGINT NOT NULL,
    PRIMARY KEY (hour, rule_id, level)
);
-- By the department of the asset hit, as the inventory said when the hour was rolled up
-- ('' for hosts not in the inventory): hosts are too many to roll up by, departments are few.
CREATE TABLE alert_department_hourly (
    hour BIGINT NOT NULL,
    department TEXT NOT NULL,
    level TEXT NOT NULL,
    alerts BIGINT NOT NULL,
    PRIMARY KEY (hour, department, level)
);
-- Which log sources sent events, and when last: the Detect column of the countermeasure map.
CREATE TABLE source_activity (
    source TEXT PRIMARY KEY,
    events BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE TABLE management_entries (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    month TEXT NOT NULL,
    title TEXT NOT NULL,
    detail TEXT NOT NULL,
    is_open BIGINT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX management_entries_month ON management_entries(month, kind);
CREATE TABLE kpi_overrides (
    id TEXT PRIMARY KEY,
    month TEXT NOT NULL,
    kpi TEXT NOT NULL,
    level BIGINT NOT NULL,
    remark TEXT NOT NULL,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX kpi_overrides_month ON kpi_overrides(month, kpi, created_at);
CREATE TABLE controls (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    layer TEXT NOT NULL,
    function TEXT NOT NULL,
    owner TEXT NOT NULL,
    effectiveness TEXT NOT NULL,
    evidence TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE maturity_assessments (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE maturity_ratings (
    assessment_id TEXT NOT NULL,
    service TEXT NOT NULL,
    as_is BIGINT NOT NULL,
    to_be BIGINT NOT NULL,
    sourcing TEXT NOT NULL,
    notes TEXT NOT NULL,
    PRIMARY KEY (assessment_id, service)
);
-- A monthly report as it was handed to management: the PDF is kept content-addressed beside the
-- evidence files, and its hash here, so later edits to cases do not change what was issued.
CREATE TABLE issued_reports (
    id TEXT PRIMARY KEY,
    month TEXT NOT NULL,
    lang TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    issued_by TEXT NOT NULL,
    issued_at BIGINT NOT NULL
)
