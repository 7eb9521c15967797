-- One schema for SQLite and PostgreSQL. Only portable types: TEXT, BIGINT.
-- Times are milliseconds since the Unix epoch, UTC. Booleans are 0/1.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    lang TEXT,
    time_zone TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE categories (
    code TEXT PRIMARY KEY,
    label_ja TEXT NOT NULL,
    label_en TEXT NOT NULL,
    builtin BIGINT NOT NULL DEFAULT 0
);
INSERT INTO categories (code, label_ja, label_en, builtin) VALUES
    ('phishing_site', 'フィッシングサイト', 'Phishing site', 1),
    ('web_defacement', 'Webサイト改ざん', 'Web site defacement', 1),
    ('malware_site', 'マルウェアサイト', 'Malware site', 1),
    ('scan', 'スキャン', 'Scan', 1),
    ('dos', 'DoS/DDoS', 'DoS/DDoS', 1),
    ('control_system', '制御システム関連', 'Control-system related', 1),
    ('targeted_attack', '標的型攻撃', 'Targeted attack', 1),
    ('other', 'その他', 'Other', 1),
    ('ransomware', 'ランサムウェア', 'Ransomware', 0),
    ('lost_device', '端末の紛失・盗難', 'Lost or stolen device', 0),
    ('insider', '内部不正', 'Insider misuse', 0);

CREATE TABLE case_counters (
    year BIGINT PRIMARY KEY,
    last_value BIGINT NOT NULL
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL REFERENCES categories(code),
    severity TEXT NOT NULL,
    tlp TEXT NOT NULL,
    pap TEXT NOT NULL,
    status TEXT NOT NULL,
    phase TEXT NOT NULL,
    assignee TEXT,
    affected_assets TEXT NOT NULL,
    resolution_summary TEXT,
    lessons_learned TEXT,
    merged_into TEXT,
    sla_due_at BIGINT,
    search_text TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX cases_created ON cases(created_at);
CREATE INDEX cases_status_created ON cases(status, created_at);
CREATE INDEX cases_severity_created ON cases(severity, created_at);
CREATE INDEX cases_category_created ON cases(category, created_at);
CREATE INDEX cases_assignee_created ON cases(assignee, created_at);

-- created_at repeats the case's creation time so a tag filter can walk (tag, created_at)
-- newest first instead of sorting every case with the tag.
CREATE TABLE case_tags (
    case_id TEXT NOT NULL REFERENCES cases(id),
    tag TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, tag)
);
CREATE INDEX case_tags_tag_created ON case_tags(tag, created_at);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    title TEXT NOT NULL,
    assignee TEXT,
    status TEXT NOT NULL,
    due_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tasks_case ON tasks(case_id);

CREATE TABLE timeline_entries (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    occurred_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX timeline_case ON timeline_entries(case_id, occurred_at);

CREATE TABLE observables (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    description TEXT NOT NULL,
    tlp TEXT NOT NULL,
    is_ioc BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (case_id, kind, value)
);
CREATE INDEX observables_value ON observables(kind, value);

CREATE TABLE evidence (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    sha256 TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    description TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX evidence_case ON evidence(case_id);

CREATE TABLE custody_log (
    id TEXT PRIMARY KEY,
    evidence_id TEXT NOT NULL REFERENCES evidence(id),
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX custody_evidence ON custody_log(evidence_id, at);

CREATE TABLE comments (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX comments_case ON comments(case_id, created_at);

-- Append-only: the application never updates or deletes rows here.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_at ON audit_log(at);
CREATE INDEX audit_object ON audit_log(object_type, object_id);
