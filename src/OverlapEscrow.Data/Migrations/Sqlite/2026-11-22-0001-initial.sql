-- Initial schema. Times are Unix milliseconds (UTC); ids are opaque text.
CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    -- The organization's data key, wrapped (AES-256-GCM) by the master key held outside the database.
    wrapped_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE members (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email           TEXT NOT NULL COLLATE NOCASE UNIQUE,
    display_name    TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX ix_members_organization ON members(organization_id);

CREATE TABLE refresh_tokens (
    token_hash  BLOB PRIMARY KEY,
    member_id   TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER NULL
);

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    secret_hash     BLOB NOT NULL,
    scopes          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    last_used_at    INTEGER NULL,
    revoked_at      INTEGER NULL
);
CREATE INDEX ix_api_keys_organization ON api_keys(organization_id);

CREATE TABLE populations (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    type               TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    current_version_id TEXT NULL,
    UNIQUE (organization_id, name)
);

-- A version is immutable once committed. A snapshot version holds all records; a delta version holds changes
-- over its base (assigned at commit, so concurrent deltas apply in commit order).
CREATE TABLE population_versions (
    id              TEXT PRIMARY KEY,
    population_id   TEXT NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    base_version_id TEXT NULL,
    depth           INTEGER NOT NULL DEFAULT 0,
    segment_count   INTEGER NOT NULL DEFAULT 0,
    change_count    INTEGER NOT NULL DEFAULT 0,
    record_count    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    -- Bumped as segments arrive; a pending version untouched for long belongs to a crashed upload.
    touched_at      INTEGER NOT NULL,
    committed_at    INTEGER NULL
);
CREATE INDEX ix_population_versions_population ON population_versions(population_id, status);

-- Records in encrypted batches: AES-256-GCM under the organization's data key, nonce per segment.
CREATE TABLE segments (
    version_id   TEXT NOT NULL REFERENCES population_versions(id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    record_count INTEGER NOT NULL,
    nonce        BLOB NOT NULL,
    data         BLOB NOT NULL,
    PRIMARY KEY (version_id, seq)
);

CREATE TABLE idempotency_keys (
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    population_id   TEXT NOT NULL,
    mode            TEXT NOT NULL,
    status          TEXT NOT NULL,
    -- Which upload holds the key: only its holder may renew, release or complete it.
    claim_token     TEXT NOT NULL,
    version_id      TEXT NULL,
    response_status INTEGER NULL,
    response_body   TEXT NULL,
    lease_until     INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (organization_id, key)
);

CREATE TABLE partnerships (
    id                     TEXT PRIMARY KEY,
    inviter_organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    invitee_organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- The pair in a fixed order, so one open partnership per pair can be enforced whoever invited.
    pair_low               TEXT NOT NULL,
    pair_high              TEXT NOT NULL,
    status                 TEXT NOT NULL,
    created_at             INTEGER NOT NULL,
    responded_at           INTEGER NULL,
    terminated_at          INTEGER NULL
);
CREATE UNIQUE INDEX ux_partnerships_open_pair ON partnerships(pair_low, pair_high) WHERE status IN ('invited', 'active');
CREATE INDEX ix_partnerships_inviter ON partnerships(inviter_organization_id);
CREATE INDEX ix_partnerships_invitee ON partnerships(invitee_organization_id);

CREATE TABLE sharing_rules (
    organization_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    population_id         TEXT NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    -- '' stands for "any": the default rule has no partnership, an override may have no partner population.
    partnership_id        TEXT NOT NULL DEFAULT '',
    partner_population_id TEXT NOT NULL DEFAULT '',
    level                 TEXT NOT NULL,
    fields                TEXT NOT NULL,
    minimum_count         INTEGER NULL,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (population_id, partnership_id, partner_population_id)
);
CREATE INDEX ix_sharing_rules_organization ON sharing_rules(organization_id);

-- Append-only and hash-chained: hash = SHA-256(prev_hash || canonical event); see docs/threat-model.md.
CREATE TABLE audit_events (
    seq             INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    organization_id TEXT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    partnership_id  TEXT NULL,
    detail          TEXT NOT NULL,
    prev_hash       BLOB NOT NULL,
    hash            BLOB NOT NULL
);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
