-- Assets, their packages, vulnerability findings from scanners, and vulnerability intelligence
-- (CISA KEV, EPSS).
CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    -- JSON arrays; identifiers are also in asset_identifiers for lookups.
    hostnames TEXT NOT NULL,
    ips TEXT NOT NULL,
    cloud_ids TEXT NOT NULL,
    macs TEXT NOT NULL,
    administrator TEXT NOT NULL,
    department TEXT NOT NULL,
    location TEXT NOT NULL,
    environment TEXT NOT NULL,
    internet_facing BIGINT NOT NULL,
    value_c BIGINT NOT NULL,
    value_i BIGINT NOT NULL,
    value_a BIGINT NOT NULL,
    tags TEXT NOT NULL,
    data_held TEXT NOT NULL,
    os TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE asset_identifiers (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    PRIMARY KEY (kind, value, asset_id)
);
CREATE INDEX asset_identifiers_asset ON asset_identifiers(asset_id);
CREATE TABLE asset_packages (
    asset_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    new_version TEXT NOT NULL,
    arch TEXT NOT NULL,
    PRIMARY KEY (asset_id, name, arch)
);
CREATE TABLE findings (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL,
    cve_id TEXT NOT NULL,
    package TEXT NOT NULL,
    fixed_in TEXT NOT NULL,
    fix_state TEXT NOT NULL,
    confidence BIGINT NOT NULL,
    cvss2_score DOUBLE PRECISION NOT NULL,
    cvss2_vector TEXT NOT NULL,
    cvss3_score DOUBLE PRECISION NOT NULL,
    cvss3_vector TEXT NOT NULL,
    cvss4_score DOUBLE PRECISION NOT NULL,
    cvss4_vector TEXT NOT NULL,
    -- JSON: per source, its CVSS v2/v3 scores and vectors.
    scores TEXT NOT NULL,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    fixed_at BIGINT,
    UNIQUE (asset_id, cve_id, package)
);
CREATE INDEX findings_cve ON findings(cve_id);
CREATE INDEX findings_status ON findings(status, asset_id);
-- A finding an automatic rule already acted on (the case it opened): re-imports act once.
CREATE TABLE finding_actions (
    finding_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO categories (code, label_ja, label_en, builtin) VALUES ('vulnerability', '脆弱性', 'Vulnerability', 0);
-- Expected damage per asset and day, for the asset page's history.
CREATE TABLE asset_risk_history (
    asset_id TEXT NOT NULL,
    day TEXT NOT NULL,
    expected_damage DOUBLE PRECISION NOT NULL,
    open_findings BIGINT NOT NULL,
    kev_findings BIGINT NOT NULL,
    PRIMARY KEY (asset_id, day)
);
CREATE TABLE vuln_intel (
    cve_id TEXT PRIMARY KEY,
    kev BIGINT NOT NULL,
    kev_added TEXT NOT NULL,
    kev_ransomware TEXT NOT NULL,
    epss DOUBLE PRECISION NOT NULL,
    epss_percentile DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL
)
