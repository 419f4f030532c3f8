-- A member's email, display name and password hash are sealed together under its organization's data key (AES-256-GCM
-- through the keyring, purpose label oe-member-identity-v1, bound to the member id, with the key version), so that an
-- erasure of the organization leaves none of them readable in any backup taken before it. email then holds the keyed
-- lookup of the address instead ("e<token key version>:" + HMAC-SHA256 in hex under a key derived from the token key,
-- which is kept outside the database; Application/Accounts/MemberIdentities): sign-in finds the member by it, and its
-- unique index still refuses an address registered twice. display_name and password_hash stay empty.
--
-- Rows written before this migration keep their plaintext until a step at every start seals them (then purges the
-- freed pages and the log).
ALTER TABLE members ADD COLUMN identity_nonce BLOB NULL;
ALTER TABLE members ADD COLUMN identity_sealed BLOB NULL;
ALTER TABLE members ADD COLUMN identity_key_version INTEGER NULL;
