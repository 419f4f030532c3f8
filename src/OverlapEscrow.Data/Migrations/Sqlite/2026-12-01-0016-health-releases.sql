-- Pipeline figures over counts-only cells, released through the private-counts mechanism (docs/health.md,
-- docs/privacy.md "Health figures"). One row per release of one figure to its viewer (viewer_organization_id) about
-- its partner (owner_organization_id, whose budget with the viewer paid), for one period ('2026-01-01..2026-12-31'),
-- currency and the data of both sides (viewer_data_key, owner_data_key: SHA-256 of the populations and versions),
-- noised or exact (exact = 1 when the owner chose exact counts: epsilon_millionths 0). value1/value2 are the figure's
-- components as drawn (value2 null for one-component figures), margin1/margin2 their stated 95 % margins.
-- owner_population_ids: the owner's customer populations (space-separated) the figure rests on; a release is shown
-- again only while each of them is still shared with the viewer. Times are Unix milliseconds (UTC).
CREATE TABLE health_releases (
    id                     TEXT PRIMARY KEY,
    partnership_id         TEXT NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    viewer_organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    owner_organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    figure                 TEXT NOT NULL,
    period                 TEXT NOT NULL,
    currency               TEXT NOT NULL,
    viewer_data_key        TEXT NOT NULL,
    owner_data_key         TEXT NOT NULL,
    owner_population_ids   TEXT NOT NULL,
    exact                  INTEGER NOT NULL,
    released_at            INTEGER NOT NULL,
    epsilon_millionths     INTEGER NOT NULL,
    value1                 INTEGER NOT NULL,
    value2                 INTEGER,
    margin1                INTEGER NOT NULL,
    margin2                INTEGER
);
-- A figure is drawn once per data: concurrent first reads store one release (the second insert does nothing) and pay once.
CREATE UNIQUE INDEX ux_health_releases_draw ON health_releases(partnership_id, viewer_organization_id, figure, period, currency, viewer_data_key,
    owner_data_key, exact);
CREATE INDEX ix_health_releases_latest ON health_releases(partnership_id, viewer_organization_id, figure, period, currency, exact, released_at);
