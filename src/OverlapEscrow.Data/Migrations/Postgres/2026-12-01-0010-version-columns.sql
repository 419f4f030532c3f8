-- A committed version's columns (docs/architecture.md, "Versions stored ready to join"): the header, the token
-- columns per identifier type sorted by (token, ordinal), and the record blocks (ids and attributes), each part sealed
-- with the organization's data key (AES-256-GCM, bound to the version and the part number). Versions stored before
-- this table get theirs on their first load. Removed with the version, and with its organization.
CREATE TABLE version_columns (
    version_id  text COLLATE "C" NOT NULL REFERENCES population_versions(id) ON DELETE CASCADE,
    part        bigint NOT NULL,
    nonce       bytea NOT NULL,
    data        bytea NOT NULL,
    key_version bigint NOT NULL,
    PRIMARY KEY (version_id, part)
);
