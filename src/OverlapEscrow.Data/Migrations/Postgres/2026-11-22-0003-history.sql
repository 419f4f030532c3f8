-- Overlap history, webhooks and the webhook delivery outbox. Times are Unix milliseconds (UTC).

-- One point each time a cell changes as one side (the viewer, organization_id) sees it: its overlap, or the level
-- at which the owner shares it (level, at recording). count is the viewer's distinct overlapping records;
-- partner_count the owner's distinct records among the kept pairs, used only to decide whether a counts-level
-- point may be shown, never shown itself. record_ids holds the viewer's own overlapping record ids (for "new
-- since"), sealed with AES-256-GCM under the viewer's data key, and only for points recorded at the overlaps
-- level; it is cleared once older than the retention period, keeping the counts. Points of a cell hidden by its
-- owner, and all points of a terminated partnership, are deleted.
CREATE TABLE overlap_history (
    id                    text COLLATE "C" PRIMARY KEY,
    partnership_id        text COLLATE "C" NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    organization_id       text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    population_id         text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    partner_population_id text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    at                    bigint NOT NULL,
    level                 text COLLATE "C" NOT NULL,
    count                 bigint NOT NULL,
    partner_count         bigint NOT NULL,
    record_ids_nonce      bytea NULL,
    record_ids            bytea NULL
);
CREATE INDEX ix_overlap_history_cell ON overlap_history(partnership_id, organization_id, population_id, partner_population_id, at);

-- The signing secret is sealed under the organization's data key; it is shown once, at creation.
CREATE TABLE webhooks (
    id              text COLLATE "C" PRIMARY KEY,
    organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url             text COLLATE "C" NOT NULL,
    description     text COLLATE "C" NOT NULL DEFAULT '',
    events          text COLLATE "C" NOT NULL,
    secret_nonce    bytea NOT NULL,
    secret          bytea NOT NULL,
    created_at      bigint NOT NULL,
    created_by      text COLLATE "C" NOT NULL
);
CREATE INDEX ix_webhooks_organization ON webhooks(organization_id);

-- The outbox: one row per event and subscribed webhook, written when the event happens and delivered by a
-- background worker. id is sent as webhook-id, the same on every attempt. A worker claims a due row with a lease
-- and a claim token, so two workers never send one attempt twice. payload is dropped once the delivery is
-- settled (delivered or given up).
CREATE TABLE webhook_deliveries (
    id              text COLLATE "C" PRIMARY KEY,
    webhook_id      text COLLATE "C" NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    event_type      text COLLATE "C" NOT NULL,
    payload         text COLLATE "C" NULL,
    status          text COLLATE "C" NOT NULL,
    attempts        bigint NOT NULL DEFAULT 0,
    created_at      bigint NOT NULL,
    next_attempt_at bigint NULL,
    lease_until     bigint NULL,
    claim_token     text COLLATE "C" NULL,
    completed_at    bigint NULL
);
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX ix_webhook_deliveries_webhook ON webhook_deliveries(webhook_id, id);

-- The delivery log: every attempt with its response status code or the reason it failed (never a response body).
CREATE TABLE webhook_attempts (
    delivery_id text COLLATE "C" NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt     bigint NOT NULL,
    at          bigint NOT NULL,
    status_code bigint NULL,
    error       text COLLATE "C" NULL,
    duration_ms bigint NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
