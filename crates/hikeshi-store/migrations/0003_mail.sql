-- Mail: the outbound queue (acknowledgements, answers, notifications), retried until sent or
-- given up, and messages that arrived for an existing report (replies quoting its number).
CREATE TABLE outbound_mail (
    id TEXT PRIMARY KEY,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    purpose TEXT NOT NULL,
    report_id TEXT,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbound_mail_due ON outbound_mail(status, next_attempt_at);

CREATE TABLE report_messages (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES reports(id),
    from_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    eml_sha256 TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX report_messages_report ON report_messages(report_id, received_at)
