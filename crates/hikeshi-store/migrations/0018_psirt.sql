-- PSIRT: the products a team ships and their versions, the vulnerabilities found in them (each
-- with the case that handles it), the state of every version for each, and the CSAF advisories
-- that tell customers. A revision's document and hashes are frozen when it is proposed; the
-- approval binds to that hash; what the public sees is every approved revision whose release
-- time has come, so nothing is ever shown before it.
CREATE TABLE products (
    id TEXT PRIMARY KEY,
    vendor TEXT NOT NULL,
    name TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (vendor, name)
);
CREATE TABLE product_versions (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products(id),
    version TEXT NOT NULL,
    purl TEXT NOT NULL DEFAULT '',
    cpe TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (product_id, version)
);
CREATE TABLE product_vulns (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    description_ja TEXT NOT NULL DEFAULT '',
    cve TEXT NOT NULL DEFAULT '',
    cwe_id TEXT NOT NULL DEFAULT '',
    cwe_name TEXT NOT NULL DEFAULT '',
    cvss3_vector TEXT NOT NULL DEFAULT '',
    cvss4_vector TEXT NOT NULL DEFAULT '',
    finder TEXT NOT NULL DEFAULT '',
    credit TEXT NOT NULL DEFAULT '',
    coordinator TEXT NOT NULL,
    coordinator_ref TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE product_vuln_versions (
    vuln_id TEXT NOT NULL REFERENCES product_vulns(id),
    version_id TEXT NOT NULL REFERENCES product_versions(id),
    status TEXT NOT NULL,
    justification TEXT NOT NULL DEFAULT '',
    impact TEXT NOT NULL DEFAULT '',
    remediation TEXT NOT NULL DEFAULT '',
    remediation_details TEXT NOT NULL DEFAULT '',
    remediation_url TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (vuln_id, version_id)
);
CREATE TABLE advisories (
    id TEXT PRIMARY KEY,
    vuln_id TEXT NOT NULL REFERENCES product_vulns(id),
    tracking_id TEXT NOT NULL UNIQUE,
    file_name TEXT NOT NULL UNIQUE,
    profile TEXT NOT NULL,
    tlp TEXT NOT NULL DEFAULT 'WHITE',
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE advisory_revisions (
    advisory_id TEXT NOT NULL REFERENCES advisories(id),
    seq BIGINT NOT NULL,
    number TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    release_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    year BIGINT NOT NULL,
    document TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    sha512 TEXT NOT NULL,
    -- The detached OpenPGP signature (ASCII armour) and the fingerprint of the key that made
    -- it; empty when the team has no signing key.
    signature TEXT NOT NULL DEFAULT '',
    signing_key TEXT NOT NULL DEFAULT '',
    proposed_by TEXT NOT NULL,
    approved_by TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (advisory_id, seq)
);
CREATE INDEX advisory_revisions_release ON advisory_revisions (state, release_at);

-- The SBOM of a product version (CycloneDX or SPDX), replaced as a whole on each import, and
-- its components: "which of our versions ship this library" is a lookup by package.
CREATE TABLE product_sboms (
    version_id TEXT PRIMARY KEY REFERENCES product_versions(id),
    format TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    components BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);
CREATE TABLE product_components (
    version_id TEXT NOT NULL REFERENCES product_versions(id),
    seq BIGINT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    purl TEXT NOT NULL,
    purl_base TEXT NOT NULL,
    cpe TEXT NOT NULL,
    PRIMARY KEY (version_id, seq)
);
CREATE INDEX product_components_purl ON product_components (purl_base);
CREATE INDEX product_components_name ON product_components (name);

-- What the reporter says the report is about (`incident`, or `product_vulnerability` for the
-- PSIRT), and how a researcher wants to be credited in an advisory (empty: not named).
ALTER TABLE reports ADD COLUMN kind TEXT NOT NULL DEFAULT 'incident';
ALTER TABLE reports ADD COLUMN credit TEXT NOT NULL DEFAULT '';
