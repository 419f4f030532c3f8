-- The free text of data requests and the attribution ledger is sealed under its author's organization data key (the
-- SQLite migration of the same name says why and how legacy rows are sealed). PostgreSQL changes the table in place:
-- the claim's record id is sealed and leaves the UNIQUE constraint (one claim per opportunity and partnership is
-- checked by Attributions.ClaimAsync under a lock on the partnership row).
ALTER TABLE data_requests ADD COLUMN message_nonce bytea NULL;
ALTER TABLE data_requests ADD COLUMN message_sealed bytea NULL;
ALTER TABLE data_requests ADD COLUMN message_key_version bigint NULL;
ALTER TABLE data_requests ADD COLUMN reason_nonce bytea NULL;
ALTER TABLE data_requests ADD COLUMN reason_sealed bytea NULL;
ALTER TABLE data_requests ADD COLUMN reason_key_version bigint NULL;

ALTER TABLE attributions DROP CONSTRAINT attributions_population_id_record_id_partnership_id_key;
ALTER TABLE attributions ALTER COLUMN record_id DROP NOT NULL;
ALTER TABLE attributions ALTER COLUMN evidence DROP NOT NULL;
ALTER TABLE attributions ADD COLUMN claim_nonce bytea NULL;
ALTER TABLE attributions ADD COLUMN claim_sealed bytea NULL;
ALTER TABLE attributions ADD COLUMN claim_key_version bigint NULL;
ALTER TABLE attributions ADD COLUMN response_nonce bytea NULL;
ALTER TABLE attributions ADD COLUMN response_sealed bytea NULL;
ALTER TABLE attributions ADD COLUMN response_key_version bigint NULL;
CREATE INDEX ix_attributions_cell ON attributions(partnership_id, population_id);
