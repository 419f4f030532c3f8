-- A webhook's URL and description, and a pull schedule's source URL, are sealed under their organization's data key
-- (AES-256-GCM through the keyring, purpose labels oe-webhook-target-v1 and oe-schedule-source-v1, bound to the row id,
-- with the key version): a receiver or a source often carries a token in its URL, and an erasure of the organization
-- must leave neither readable in any backup taken before it. They are opened to show the row to its organization, to
-- send a delivery and to fetch a pull; a data-key rotation re-seals them.
--
-- The plaintext columns stay for the rows written before this migration: a step at every start seals them and clears
-- the plaintext (webhooks.url and description '', schedules.source_url NULL), then purges the freed pages. New rows
-- write only the sealed columns.
ALTER TABLE webhooks ADD COLUMN target_nonce BLOB NULL;
ALTER TABLE webhooks ADD COLUMN target_sealed BLOB NULL;
ALTER TABLE webhooks ADD COLUMN target_key_version INTEGER NULL;
ALTER TABLE schedules ADD COLUMN source_url_nonce BLOB NULL;
ALTER TABLE schedules ADD COLUMN source_url_sealed BLOB NULL;
ALTER TABLE schedules ADD COLUMN source_url_key_version INTEGER NULL;
