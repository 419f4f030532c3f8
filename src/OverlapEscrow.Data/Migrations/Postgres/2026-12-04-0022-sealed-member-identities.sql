-- A member's email, display name and password hash sealed under its organization's data key, email holding the keyed
-- lookup of the address (the SQLite migration of the same name says why and how). Rows written before it keep their
-- plaintext until a start seals them.
ALTER TABLE members ADD COLUMN identity_nonce bytea NULL;
ALTER TABLE members ADD COLUMN identity_sealed bytea NULL;
ALTER TABLE members ADD COLUMN identity_key_version bigint NULL;
