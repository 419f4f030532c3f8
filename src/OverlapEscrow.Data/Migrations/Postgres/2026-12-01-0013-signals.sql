-- Co-selling signals (docs/health.md, "Co-selling signals, attribution and data requests"): data requests and the attribution ledger.

-- Requests for more than counts on a counts-only cell (docs/health.md, "Data requests"). Both sides read a request;
-- it goes with either organization, either population or the partnership.
CREATE TABLE data_requests (
    id                        text COLLATE "C" PRIMARY KEY,
    partnership_id            text COLLATE "C" NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    requester_organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    owner_organization_id     text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    requester_population_id   text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    owner_population_id       text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    message                   text COLLATE "C" NOT NULL,
    status                    text COLLATE "C" NOT NULL,
    created_at                bigint NOT NULL,
    created_by                text COLLATE "C" NOT NULL,
    resolved_at               bigint NULL,
    resolved_by               text COLLATE "C" NULL,
    answered_level            text COLLATE "C" NULL,
    answered_fields           text COLLATE "C" NOT NULL DEFAULT '[]',
    reason                    text COLLATE "C" NULL
);
-- One open request per cell and requester: asking again while one is open is a conflict, not a second request.
CREATE UNIQUE INDEX ux_data_requests_open_cell ON data_requests(partnership_id, requester_population_id, owner_population_id)
    WHERE status = 'open';
CREATE INDEX ix_data_requests_requester ON data_requests(requester_organization_id, partnership_id, created_at);
CREATE INDEX ix_data_requests_owner ON data_requests(owner_organization_id, created_at);

-- The attribution ledger: a claim that a partner sourced or influenced one of my opportunities (a record of one of my
-- opportunities populations), with the evidence it was made on (JSON: the partner populations that had the account
-- while the opportunity was open, and when), kept with the claim so it outlives the history's record-id retention.
-- The partner named confirms or disputes it. One claim per opportunity and partnership.
CREATE TABLE attributions (
    id                       text COLLATE "C" PRIMARY KEY,
    partnership_id           text COLLATE "C" NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    claimant_organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    partner_organization_id  text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    population_id            text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    record_id                text COLLATE "C" NOT NULL,
    role                     text COLLATE "C" NOT NULL,
    status                   text COLLATE "C" NOT NULL,
    evidence                 text COLLATE "C" NOT NULL,
    note                     text COLLATE "C" NULL,
    created_at               bigint NOT NULL,
    created_by               text COLLATE "C" NOT NULL,
    responded_at             bigint NULL,
    responded_by             text COLLATE "C" NULL,
    response_note            text COLLATE "C" NULL,
    UNIQUE (population_id, record_id, partnership_id)
);
CREATE INDEX ix_attributions_claimant ON attributions(claimant_organization_id, created_at);
CREATE INDEX ix_attributions_partner ON attributions(partner_organization_id, created_at);
