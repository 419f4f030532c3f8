-- The overlap refresher's queue, durable and shared by every instance (the SQLite migration of the same name describes
-- each column). '' stands for "all" in population_id and partnership_id, so the primary key coalesces (NULLs would not).
-- Times are Unix milliseconds (UTC).
CREATE TABLE refresh_queue (
    organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    population_id   text COLLATE "C" NOT NULL,
    partnership_id  text COLLATE "C" NOT NULL,
    changes         bigint NOT NULL,
    attempts        bigint NOT NULL DEFAULT 0,
    queued_at       bigint NOT NULL,
    claimed_by      text COLLATE "C",
    lease_until     bigint,
    PRIMARY KEY (organization_id, population_id, partnership_id)
);
CREATE INDEX ix_refresh_queue_due ON refresh_queue(lease_until, queued_at);
