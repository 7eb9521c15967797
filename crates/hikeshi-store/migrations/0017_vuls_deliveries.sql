-- Scan results pushed by `vuls report -to-http`: the body is kept on disk under its SHA-256
-- before it is answered, and imported by a job from there; the same body again is the same
-- delivery, never a second import.
CREATE TABLE vuls_deliveries (
    sha256 TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    server_name TEXT NOT NULL,
    received_by TEXT NOT NULL,
    -- stored, imported or refused
    state TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
