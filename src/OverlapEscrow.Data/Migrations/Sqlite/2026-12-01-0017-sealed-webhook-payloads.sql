-- A webhook delivery's body (the Standard Webhooks envelope) is sealed under the receiving organization's data key
-- (AES-256-GCM through the keyring, purpose label oe-webhook-payload-v1, bound to the delivery id, with the key
-- version): a coselling.joint_opportunity body holds the receiver's record ids, and the outbox must not keep them in
-- plaintext at rest. The body is opened only to send it; a data-key rotation re-seals pending ones; an erasure of the
-- organization makes them unreadable in the database, its log and every backup. The sealed columns are cleared with
-- the body once the delivery is settled, as payload always was.
--
-- payload stays for the rows written before this migration (sent as they are, then cleared); new rows leave it NULL.
ALTER TABLE webhook_deliveries ADD COLUMN payload_nonce BLOB NULL;
ALTER TABLE webhook_deliveries ADD COLUMN payload_sealed BLOB NULL;
ALTER TABLE webhook_deliveries ADD COLUMN payload_key_version INTEGER NULL;
