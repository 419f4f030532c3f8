-- A webhook's URL and description, and a pull schedule's source URL, sealed under their organization's data key (the
-- SQLite migration of the same name says why and how). The plaintext columns stay for the rows written before it.
ALTER TABLE webhooks ADD COLUMN target_nonce bytea NULL;
ALTER TABLE webhooks ADD COLUMN target_sealed bytea NULL;
ALTER TABLE webhooks ADD COLUMN target_key_version bigint NULL;
ALTER TABLE schedules ADD COLUMN source_url_nonce bytea NULL;
ALTER TABLE schedules ADD COLUMN source_url_sealed bytea NULL;
ALTER TABLE schedules ADD COLUMN source_url_key_version bigint NULL;
