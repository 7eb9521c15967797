-- Why an alert was closed or judged a false positive, and by whom.
ALTER TABLE alerts ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN status_by TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN status_at BIGINT
