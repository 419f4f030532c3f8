-- The free text of data requests and the attribution ledger is sealed under its author's organization data key
-- (docs/operations.md, "Deleting an organization"; docs/privacy.md): crypto-shredding and key rotation reach it like
-- every other sealed value. Each sealed value carries the key version it was sealed with.
--
-- Rows written before this migration keep their plaintext until SignalSealing seals them (at the next start, before the
-- service answers, and before any `admin` command): it seals each row's text, then clears the plaintext column.

-- data_requests: the requester's message (with the name its population had when it asked) under the requester's key;
-- the owner's decline reason under the owner's key. message stays NOT NULL for the legacy rows: '' once sealed.
ALTER TABLE data_requests ADD COLUMN message_nonce BLOB NULL;
ALTER TABLE data_requests ADD COLUMN message_sealed BLOB NULL;
ALTER TABLE data_requests ADD COLUMN message_key_version INTEGER NULL;
ALTER TABLE data_requests ADD COLUMN reason_nonce BLOB NULL;
ALTER TABLE data_requests ADD COLUMN reason_sealed BLOB NULL;
ALTER TABLE data_requests ADD COLUMN reason_key_version INTEGER NULL;

-- attributions: rebuilt, because the claim's record id is sealed and can no longer be part of a UNIQUE constraint (one
-- claim per opportunity and partnership is checked by Attributions.ClaimAsync under a lock on the partnership row).
-- record_id, evidence, note (the claimant's) and response_note (the partner's) become legacy plaintext columns, NULL
-- once sealed; claim_* seals {recordId, evidence, note} under the claimant's key, response_* the note under the partner's.
CREATE TABLE attributions_sealed (
    id                       TEXT PRIMARY KEY,
    partnership_id           TEXT NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    claimant_organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    partner_organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    population_id            TEXT NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    record_id                TEXT NULL,
    role                     TEXT NOT NULL,
    status                   TEXT NOT NULL,
    evidence                 TEXT NULL,
    note                     TEXT NULL,
    claim_nonce              BLOB NULL,
    claim_sealed             BLOB NULL,
    claim_key_version        INTEGER NULL,
    created_at               INTEGER NOT NULL,
    created_by               TEXT NOT NULL,
    responded_at             INTEGER NULL,
    responded_by             TEXT NULL,
    response_note            TEXT NULL,
    response_nonce           BLOB NULL,
    response_sealed          BLOB NULL,
    response_key_version     INTEGER NULL
);
INSERT INTO attributions_sealed (id, partnership_id, claimant_organization_id, partner_organization_id, population_id, record_id, role, status,
                                 evidence, note, created_at, created_by, responded_at, responded_by, response_note)
SELECT id, partnership_id, claimant_organization_id, partner_organization_id, population_id, record_id, role, status,
       evidence, note, created_at, created_by, responded_at, responded_by, response_note
FROM attributions;
DROP TABLE attributions;
ALTER TABLE attributions_sealed RENAME TO attributions;
CREATE INDEX ix_attributions_claimant ON attributions(claimant_organization_id, created_at);
CREATE INDEX ix_attributions_partner ON attributions(partner_organization_id, created_at);
CREATE INDEX ix_attributions_cell ON attributions(partnership_id, population_id);
