-- The point of contact: reports from the public form, e-mail and the API, and the team's
-- published profile (scope, services, security.txt).
CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    tracking TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    lang TEXT NOT NULL,
    reporter_name TEXT NOT NULL,
    reporter_contact TEXT NOT NULL,
    reporter_org TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    occurred TEXT NOT NULL,
    affected TEXT NOT NULL,
    indicators TEXT NOT NULL,
    tlp TEXT NOT NULL,
    suggested_category TEXT NOT NULL,
    suggestion_reason_ja TEXT NOT NULL,
    suggestion_reason_en TEXT NOT NULL,
    remote_addr TEXT NOT NULL,
    case_id TEXT REFERENCES cases(id),
    decision_reason TEXT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX reports_status_created ON reports(status, created_at);
CREATE INDEX reports_contact ON reports(reporter_contact, created_at);

CREATE TABLE report_observables (
    report_id TEXT NOT NULL REFERENCES reports(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (report_id, kind, value)
);
CREATE INDEX report_observables_value ON report_observables(kind, value, created_at);

CREATE TABLE report_attachments (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES reports(id),
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX report_attachments_report ON report_attachments(report_id);

CREATE TABLE team_profile (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
)
