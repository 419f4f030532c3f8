-- Overlap history, webhooks and the webhook delivery outbox. Times are Unix milliseconds (UTC).

-- One point each time a cell changes as one side (the viewer, organization_id) sees it: its overlap, or the level
-- at which the owner shares it (level, at recording). count is the viewer's distinct overlapping records;
-- partner_count the owner's distinct records among the kept pairs, used only to decide whether a counts-level
-- point may be shown, never shown itself. record_ids holds the viewer's own overlapping record ids (for "new
-- since"), sealed with AES-256-GCM under the viewer's data key, and only for points recorded at the overlaps
-- level; it is cleared once older than the retention period, keeping the counts. Points of a cell hidden by its
-- owner, and all points of a terminated partnership, are deleted.
CREATE TABLE overlap_history (
    id                    TEXT PRIMARY KEY,
    partnership_id        TEXT NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    organization_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    population_id         TEXT NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    partner_population_id TEXT NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    at                    INTEGER NOT NULL,
    level                 TEXT NOT NULL,
    count                 INTEGER NOT NULL,
    partner_count         INTEGER NOT NULL,
    record_ids_nonce      BLOB NULL,
    record_ids            BLOB NULL
);
CREATE INDEX ix_overlap_history_cell ON overlap_history(partnership_id, organization_id, population_id, partner_population_id, at);

-- The signing secret is sealed under the organization's data key; it is shown once, at creation.
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    events          TEXT NOT NULL,
    secret_nonce    BLOB NOT NULL,
    secret          BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL
);
CREATE INDEX ix_webhooks_organization ON webhooks(organization_id);

-- The outbox: one row per event and subscribed webhook, written when the event happens and delivered by a
-- background worker. id is sent as webhook-id, the same on every attempt. A worker claims a due row with a lease
-- and a claim token, so two workers never send one attempt twice. payload is dropped once the delivery is
-- settled (delivered or given up).
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    payload         TEXT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NULL,
    lease_until     INTEGER NULL,
    claim_token     TEXT NULL,
    completed_at    INTEGER NULL
);
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX ix_webhook_deliveries_webhook ON webhook_deliveries(webhook_id, id);

-- The delivery log: every attempt with its response status code or the reason it failed (never a response body).
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status_code INTEGER NULL,
    error       TEXT NULL,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
