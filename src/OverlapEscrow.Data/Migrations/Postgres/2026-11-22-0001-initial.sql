-- Initial schema (PostgreSQL counterpart of Migrations/Sqlite/ under the same name; docs/architecture.md, "Databases and
-- dialects", gives the type mapping). Times are Unix milliseconds (UTC, bigint); ids are opaque text. Text compares and
-- sorts by bytes (COLLATE "C", SQLite's BINARY) whatever the database's default collation.

-- SQLite's NOCASE for member emails: equality that ignores case (an ICU collation at strength 2: case-insensitive,
-- accent-sensitive), so `email = @email` finds a member whatever the case typed, and the unique index refuses
-- "Ann@x" beside "ann@x".
CREATE COLLATION IF NOT EXISTS escrow_nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

CREATE TABLE organizations (
    id          text COLLATE "C" PRIMARY KEY,
    slug        text COLLATE "C" NOT NULL UNIQUE,
    name        text COLLATE "C" NOT NULL,
    -- The organization's data key, wrapped (AES-256-GCM) by the master key held outside the database.
    wrapped_key bytea NOT NULL,
    created_at  bigint NOT NULL
);

CREATE TABLE members (
    id              text COLLATE "C" PRIMARY KEY,
    organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email           text COLLATE escrow_nocase NOT NULL UNIQUE,
    display_name    text COLLATE "C" NOT NULL,
    password_hash   text COLLATE "C" NOT NULL,
    role            text COLLATE "C" NOT NULL,
    created_at      bigint NOT NULL
);
CREATE INDEX ix_members_organization ON members(organization_id);

CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    member_id   text COLLATE "C" NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    expires_at  bigint NOT NULL,
    used_at     bigint NULL
);

CREATE TABLE api_keys (
    id              text COLLATE "C" PRIMARY KEY,
    organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            text COLLATE "C" NOT NULL,
    secret_hash     bytea NOT NULL,
    scopes          text COLLATE "C" NOT NULL,
    created_at      bigint NOT NULL,
    created_by      text COLLATE "C" NOT NULL,
    last_used_at    bigint NULL,
    revoked_at      bigint NULL
);
CREATE INDEX ix_api_keys_organization ON api_keys(organization_id);

CREATE TABLE populations (
    id                 text COLLATE "C" PRIMARY KEY,
    organization_id    text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name               text COLLATE "C" NOT NULL,
    type               text COLLATE "C" NOT NULL,
    created_at         bigint NOT NULL,
    current_version_id text COLLATE "C" NULL,
    UNIQUE (organization_id, name)
);

-- A version is immutable once committed. A snapshot version holds all records; a delta version holds changes
-- over its base (assigned at commit, so concurrent deltas apply in commit order).
CREATE TABLE population_versions (
    id              text COLLATE "C" PRIMARY KEY,
    population_id   text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    kind            text COLLATE "C" NOT NULL,
    status          text COLLATE "C" NOT NULL,
    base_version_id text COLLATE "C" NULL,
    depth           bigint NOT NULL DEFAULT 0,
    segment_count   bigint NOT NULL DEFAULT 0,
    change_count    bigint NOT NULL DEFAULT 0,
    record_count    bigint NOT NULL DEFAULT 0,
    created_at      bigint NOT NULL,
    -- Bumped as segments arrive; a pending version untouched for long belongs to a crashed upload.
    touched_at      bigint NOT NULL,
    committed_at    bigint NULL
);
CREATE INDEX ix_population_versions_population ON population_versions(population_id, status);

-- Records in encrypted batches: AES-256-GCM under the organization's data key, nonce per segment.
CREATE TABLE segments (
    version_id   text COLLATE "C" NOT NULL REFERENCES population_versions(id) ON DELETE CASCADE,
    seq          bigint NOT NULL,
    record_count bigint NOT NULL,
    nonce        bytea NOT NULL,
    data         bytea NOT NULL,
    PRIMARY KEY (version_id, seq)
);

CREATE TABLE idempotency_keys (
    organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    key             text COLLATE "C" NOT NULL,
    population_id   text COLLATE "C" NOT NULL,
    mode            text COLLATE "C" NOT NULL,
    status          text COLLATE "C" NOT NULL,
    -- Which upload holds the key: only its holder may renew, release or complete it.
    claim_token     text COLLATE "C" NOT NULL,
    version_id      text COLLATE "C" NULL,
    response_status bigint NULL,
    response_body   text COLLATE "C" NULL,
    lease_until     bigint NOT NULL,
    created_at      bigint NOT NULL,
    PRIMARY KEY (organization_id, key)
);

CREATE TABLE partnerships (
    id                     text COLLATE "C" PRIMARY KEY,
    inviter_organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    invitee_organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- The pair in a fixed order, so one open partnership per pair can be enforced whoever invited.
    pair_low               text COLLATE "C" NOT NULL,
    pair_high              text COLLATE "C" NOT NULL,
    status                 text COLLATE "C" NOT NULL,
    created_at             bigint NOT NULL,
    responded_at           bigint NULL,
    terminated_at          bigint NULL
);
CREATE UNIQUE INDEX ux_partnerships_open_pair ON partnerships(pair_low, pair_high) WHERE status IN ('invited', 'active');
CREATE INDEX ix_partnerships_inviter ON partnerships(inviter_organization_id);
CREATE INDEX ix_partnerships_invitee ON partnerships(invitee_organization_id);

CREATE TABLE sharing_rules (
    organization_id       text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    population_id         text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    -- '' stands for "any": the default rule has no partnership, an override may have no partner population.
    partnership_id        text COLLATE "C" NOT NULL DEFAULT '',
    partner_population_id text COLLATE "C" NOT NULL DEFAULT '',
    level                 text COLLATE "C" NOT NULL,
    fields                text COLLATE "C" NOT NULL,
    minimum_count         bigint NULL,
    updated_at            bigint NOT NULL,
    PRIMARY KEY (population_id, partnership_id, partner_population_id)
);
CREATE INDEX ix_sharing_rules_organization ON sharing_rules(organization_id);

-- Append-only and hash-chained: hash = SHA-256(prev_hash || canonical event); see docs/threat-model.md.
CREATE TABLE audit_events (
    seq             bigint PRIMARY KEY,
    at              bigint NOT NULL,
    organization_id text COLLATE "C" NOT NULL,
    actor           text COLLATE "C" NOT NULL,
    action          text COLLATE "C" NOT NULL,
    partnership_id  text COLLATE "C" NULL,
    detail          text COLLATE "C" NOT NULL,
    prev_hash       bytea NOT NULL,
    hash            bytea NOT NULL
);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
-- TRUNCATE fires no row trigger: refused on its own.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
