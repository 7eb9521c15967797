-- Automated response: one row per intent (block this address for this long, because of this
-- alert and this policy version), its plan and where it is in its life. The idempotency key
-- makes a second proposal of the same intent find the first instead of adding a row.
CREATE TABLE response_actions (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    policy TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- Canonical: an address as a CIDR (`192.0.2.7/32`), a host name in lower case.
    target TEXT NOT NULL,
    connector TEXT NOT NULL,
    mode TEXT NOT NULL,
    state TEXT NOT NULL,
    plan TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    alert_id TEXT,
    requested_by TEXT NOT NULL,
    approved_by TEXT NOT NULL DEFAULT '',
    -- The n-th offence of this target in the policy's decay window (escalation).
    offence BIGINT NOT NULL,
    ttl_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    approval_expires_at BIGINT,
    activated_at BIGINT,
    -- Set when it is applied: the connector's element lives exactly until then.
    expires_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    connector_answer TEXT NOT NULL DEFAULT '',
    -- Why it waits for approval when its policy says auto (a rate limit, a wide range).
    held_because TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
CREATE INDEX response_actions_state ON response_actions (connector, state);
CREATE INDEX response_actions_target ON response_actions (kind, target, created_at);
CREATE INDEX response_actions_policy ON response_actions (policy, created_at);

-- One reconciler per connector at a time across servers on one database.
CREATE TABLE response_leases (
    connector TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);

-- What each connector's reconciler last saw and did, for the health page and /metrics.
CREATE TABLE response_connector_health (
    connector TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    last_reconcile_at BIGINT NOT NULL,
    in_force BIGINT NOT NULL,
    drift_repaired BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    last_error TEXT NOT NULL
);
