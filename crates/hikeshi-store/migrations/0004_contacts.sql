-- Contacts and escalation: who to involve for which category and severity, and a record of
-- each notification made from a case.
CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    organisation TEXT NOT NULL,
    role TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    pgp_fingerprint TEXT NOT NULL,
    notes TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE escalation_rules (
    id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    min_severity TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX escalation_rules_contact ON escalation_rules(contact_id);

CREATE TABLE case_notifications (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    channel TEXT NOT NULL,
    note TEXT NOT NULL,
    notified_by TEXT NOT NULL,
    notified_at BIGINT NOT NULL
);
CREATE INDEX case_notifications_case ON case_notifications(case_id, notified_at)
