-- What an API token may do: `full` (its user's role) or `ingest` (send events, nothing else).
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';
