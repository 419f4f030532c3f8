-- The hashing specification version each population version was hashed under (docs/hashing.md, "Versioning"):
-- named by the upload's Hashing-Spec header, 1 when absent; a delta on a base of a lower version takes the lower.
ALTER TABLE population_versions ADD COLUMN hashing_spec bigint NOT NULL DEFAULT 1;
