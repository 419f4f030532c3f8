-- Requests for more than counts on a counts-only cell (docs/health.md, "Data requests"). Both sides read a request;
-- it goes with either organization, either population or the partnership.
CREATE TABLE data_requests (
    id                        TEXT PRIMARY KEY,
    partnership_id            TEXT NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    requester_organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    owner_organization_id     TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    requester_population_id   TEXT NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    owner_population_id       TEXT NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    message                   TEXT NOT NULL,
    status                    TEXT NOT NULL,
    created_at                INTEGER NOT NULL,
    created_by                TEXT NOT NULL,
    resolved_at               INTEGER NULL,
    resolved_by               TEXT NULL,
    answered_level            TEXT NULL,
    answered_fields           TEXT NOT NULL DEFAULT '[]',
    reason                    TEXT NULL
);
-- One open request per cell and requester: asking again while one is open is a conflict, not a second request.
CREATE UNIQUE INDEX ux_data_requests_open_cell ON data_requests(partnership_id, requester_population_id, owner_population_id)
    WHERE status = 'open';
CREATE INDEX ix_data_requests_requester ON data_requests(requester_organization_id, partnership_id, created_at);
CREATE INDEX ix_data_requests_owner ON data_requests(owner_organization_id, created_at);
