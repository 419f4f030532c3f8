-- The hashing specification version a pull schedule's source is hashed under (docs/syncs.md): each run's upload is
-- recorded under it, as an API upload is under its Hashing-Spec header; 1 for schedules made before it existed.
ALTER TABLE schedules ADD COLUMN hashing_spec bigint NOT NULL DEFAULT 1;
