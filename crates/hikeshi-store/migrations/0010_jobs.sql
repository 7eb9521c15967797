-- Durable background work: one row per job (send a mail; later connector actions, TAXII pushes,
-- CSAF publication), queued in the same transaction as the change that causes it, claimed by a
-- runner with a lease, retried with back-off, and `dead` after its last attempt, for people to
-- see and retry. Outgoing mail keeps its own rows (what was sent, to whom); its sending is a job.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    locked_until BIGINT,
    last_error TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_due ON jobs(state, run_at);
CREATE INDEX jobs_created ON jobs(created_at);

-- Mail still waiting from before the jobs table: each gets its sending job.
INSERT INTO jobs (id, kind, payload, state, attempts, run_at, locked_until, last_error, created_at, updated_at, finished_at)
SELECT 'mail-' || id, 'mail.send', '{"mail_id":"' || id || '"}', 'queued', attempts, next_attempt_at, NULL, last_error, created_at, created_at, NULL
FROM outbound_mail WHERE status = 'queued';
