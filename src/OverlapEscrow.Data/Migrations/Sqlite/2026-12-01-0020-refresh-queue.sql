-- The overlap refresher's queue, durable and shared by every instance on the database (docs/architecture.md, "Overlap
-- refresher"). One row per coalesced change: an organization's population in every active partnership of the
-- organization (partnership_id ''), a whole partnership (population_id ''), or one population in one partnership.
-- '' stands for "all" rather than NULL so the primary key coalesces on both databases (NULLs are distinct in a unique key).
-- The change is written in the transaction of the change that caused it (an outbox), so a crash between the commit
-- and the refresh cannot lose it. changes is bumped each time the same change is queued again; a worker deletes the row
-- after processing it only if changes is still the value it claimed (else another pass follows). claimed_by and
-- lease_until say which instance processes it until when: an expired lease (a killed instance) is claimable by another.
-- attempts counts failed passes (a row is given up after a few). Times are Unix milliseconds (UTC).
CREATE TABLE refresh_queue (
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    population_id   TEXT NOT NULL,
    partnership_id  TEXT NOT NULL,
    changes         INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    queued_at       INTEGER NOT NULL,
    claimed_by      TEXT,
    lease_until     INTEGER,
    PRIMARY KEY (organization_id, population_id, partnership_id)
);
CREATE INDEX ix_refresh_queue_due ON refresh_queue(lease_until, queued_at);
