-- Key versions beside every wrapped key and sealed value, so rotation and crypto-shredding know which key sealed
-- what; and the heads that writers lock (the audit chain's last event, each history cell's latest point) instead of
-- relying on one database serializing all writers.

-- organizations.wrapped_key is wrapped by the master key of wrapped_key_version; it is the data key of data_key_version.
ALTER TABLE organizations ADD COLUMN wrapped_key_version bigint NOT NULL DEFAULT 1;
ALTER TABLE organizations ADD COLUMN data_key_version bigint NOT NULL DEFAULT 1;
-- The version of the organization's data key each sealed value was sealed with.
ALTER TABLE segments ADD COLUMN key_version bigint NOT NULL DEFAULT 1;
ALTER TABLE overlap_history ADD COLUMN record_ids_key_version bigint NULL;
UPDATE overlap_history SET record_ids_key_version = 1 WHERE record_ids IS NOT NULL;
ALTER TABLE webhooks ADD COLUMN secret_key_version bigint NOT NULL DEFAULT 1;
ALTER TABLE schedules ADD COLUMN secret_key_version bigint NULL;
UPDATE schedules SET secret_key_version = 1 WHERE secret_value IS NOT NULL;

-- The head of the audit chain: one row, read locked and moved by every append.
CREATE TABLE audit_head (
    id   bigint PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
SELECT 1, COALESCE((SELECT MAX(seq) FROM audit_events), 0),
       COALESCE((SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), decode(repeat('00', 32), 'hex'));

-- The latest point of each history cell and side: an append moves it with a compare-and-set.
CREATE TABLE overlap_history_heads (
    partnership_id        text COLLATE "C" NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    organization_id       text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    population_id         text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    partner_population_id text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    latest_point_id       text COLLATE "C" NOT NULL,
    PRIMARY KEY (partnership_id, organization_id, population_id, partner_population_id)
);
INSERT INTO overlap_history_heads (partnership_id, organization_id, population_id, partner_population_id, latest_point_id)
SELECT h.partnership_id, h.organization_id, h.population_id, h.partner_population_id,
       (SELECT x.id FROM overlap_history x
        WHERE x.partnership_id = h.partnership_id AND x.organization_id = h.organization_id
          AND x.population_id = h.population_id AND x.partner_population_id = h.partner_population_id
        ORDER BY x.at DESC, x.id DESC LIMIT 1)
FROM (SELECT DISTINCT partnership_id, organization_id, population_id, partner_population_id FROM overlap_history) h;
