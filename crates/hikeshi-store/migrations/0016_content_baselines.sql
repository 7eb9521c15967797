-- Known-good copies of web roots live outside the root, as content-addressed files with a
-- manifest; the manifest's hash lives here, so a manifest edited on disk is found out.
CREATE TABLE content_baselines (
    name TEXT PRIMARY KEY,
    manifest_sha256 TEXT NOT NULL,
    files BIGINT NOT NULL,
    promoted_by TEXT NOT NULL,
    promoted_at BIGINT NOT NULL
);
