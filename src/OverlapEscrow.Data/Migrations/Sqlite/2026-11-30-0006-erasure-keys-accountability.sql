-- Erasure, keys and accountability (docs/operations.md): partnership tombstones, sessions of refresh tokens, the
-- previous webhook secret during a rotation, the token keys of each version, each organization's audit chain and
-- the signed checkpoints. Organizations' data keys move to the keyring outside the database at start-up (the
-- application does it, not this script: it needs the keyring); organizations.wrapped_key is then empty (X'').

-- A partnership of a deleted organization, kept for the other side: ids, sides and dates only, ended at the deletion
-- at the latest. The partner's audit log names it, so its evidence of who read what stays readable.
CREATE TABLE partnership_tombstones (
    id                      TEXT PRIMARY KEY,
    inviter_organization_id TEXT NOT NULL,
    invitee_organization_id TEXT NOT NULL,
    deleted_organization_id TEXT NOT NULL,
    status_before           TEXT NOT NULL,
    created_at              INTEGER NOT NULL,
    responded_at            INTEGER NULL,
    terminated_at           INTEGER NOT NULL
);
CREATE INDEX ix_partnership_tombstones_inviter ON partnership_tombstones(inviter_organization_id);
CREATE INDEX ix_partnership_tombstones_invitee ON partnership_tombstones(invitee_organization_id);

-- A session: the family of refresh tokens that rotate from one sign-in. Using a token twice revokes its family
-- (RFC 9700 §4.14.2); signing out or changing the password ends sessions, and access tokens name their session.
CREATE TABLE member_sessions (
    id             TEXT PRIMARY KEY,
    member_id      TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    ended_at       INTEGER NULL,
    ended_reason   TEXT NULL
);
CREATE INDEX ix_member_sessions_member ON member_sessions(member_id);
ALTER TABLE refresh_tokens ADD COLUMN session_id TEXT NULL REFERENCES member_sessions(id) ON DELETE CASCADE;
-- Refresh tokens issued before sessions existed each become a session of their own.
INSERT INTO member_sessions (id, member_id, created_at)
SELECT 'ses_' || lower(hex(token_hash)), member_id, 0 FROM refresh_tokens;
UPDATE refresh_tokens SET session_id = 'ses_' || lower(hex(token_hash));

-- During a secret rotation the previous secret keeps signing (sealed like the current one) until previous_secret_until.
ALTER TABLE webhooks ADD COLUMN previous_secret_nonce BLOB NULL;
ALTER TABLE webhooks ADD COLUMN previous_secret BLOB NULL;
ALTER TABLE webhooks ADD COLUMN previous_secret_key_version INTEGER NULL;
ALTER TABLE webhooks ADD COLUMN previous_secret_until INTEGER NULL;

-- The token keys (versions, space-separated) a version's own records were keyed under; NULL means "1" (before
-- token-key versions existed). A chain is under a key only if each of its versions is.
ALTER TABLE population_versions ADD COLUMN token_keys TEXT NULL;

-- Each organization's chain over the audit events it may read: hash = SHA-256(prev_hash || UTF-8(record)), record
-- being the exact text of the event as that organization sees it, position counting from 1.
CREATE TABLE audit_views (
    organization_id TEXT NOT NULL,
    position        INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    record          TEXT NOT NULL,
    prev_hash       BLOB NOT NULL,
    hash            BLOB NOT NULL,
    PRIMARY KEY (organization_id, position)
);
CREATE TABLE audit_view_heads (
    organization_id TEXT PRIMARY KEY,
    position        INTEGER NOT NULL,
    hash            BLOB NOT NULL
);
-- The last audit event already in the chains: the indexer locks this row, so two never index one event twice.
CREATE TABLE audit_view_progress (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO audit_view_progress (id, seq) VALUES (1, 0);

-- Signed checkpoints: a chain's size and head at a moment, signed with the escrow's Ed25519 key (kept outside the
-- database). organization_id NULL is the whole log's chain (seq and hash of audit_events).
CREATE TABLE audit_checkpoints (
    id              INTEGER PRIMARY KEY,
    organization_id TEXT NULL,
    at              INTEGER NOT NULL,
    size            INTEGER NOT NULL,
    head            BLOB NOT NULL,
    statement       TEXT NOT NULL,
    signature       TEXT NOT NULL,
    key_id          TEXT NOT NULL
);
CREATE INDEX ix_audit_checkpoints_organization ON audit_checkpoints(organization_id, id);

-- Sign-up codes, when the operator closes open sign-up (Escrow:Signup:Mode = code): only their SHA-256 is kept.
CREATE TABLE signup_codes (
    code_hash  BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NULL,
    attempts   INTEGER NOT NULL DEFAULT 0
);

-- Zero blobs written into the free pages after an erasure and deleted again, so that no free page keeps a deleted
-- row's bytes (IDatabaseMaintenance.PurgeDeletedContentAsync). Empty between purges.
CREATE TABLE free_page_scrub (
    id     INTEGER PRIMARY KEY,
    filler BLOB NOT NULL
);
