-- A webhook delivery's body sealed under the receiving organization's data key (the SQLite migration of the same
-- name says why and how). payload stays for the rows written before it; new rows leave it NULL.
ALTER TABLE webhook_deliveries ADD COLUMN payload_nonce bytea NULL;
ALTER TABLE webhook_deliveries ADD COLUMN payload_sealed bytea NULL;
ALTER TABLE webhook_deliveries ADD COLUMN payload_key_version bigint NULL;
