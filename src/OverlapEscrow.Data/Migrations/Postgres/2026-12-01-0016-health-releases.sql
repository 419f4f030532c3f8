-- Pipeline figures over counts-only cells, released through the private-counts mechanism (the SQLite migration of the
-- same name describes each column). Times are Unix milliseconds (UTC); exact is 1 or 0 as on SQLite.
CREATE TABLE health_releases (
    id                     text COLLATE "C" PRIMARY KEY,
    partnership_id         text COLLATE "C" NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    viewer_organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    owner_organization_id  text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    figure                 text COLLATE "C" NOT NULL,
    period                 text COLLATE "C" NOT NULL,
    currency               text COLLATE "C" NOT NULL,
    viewer_data_key        text COLLATE "C" NOT NULL,
    owner_data_key         text COLLATE "C" NOT NULL,
    owner_population_ids   text COLLATE "C" NOT NULL,
    exact                  bigint NOT NULL,
    released_at            bigint NOT NULL,
    epsilon_millionths     bigint NOT NULL,
    value1                 bigint NOT NULL,
    value2                 bigint,
    margin1                bigint NOT NULL,
    margin2                bigint
);
-- A figure is drawn once per data: concurrent first reads store one release (the second insert does nothing) and pay once.
CREATE UNIQUE INDEX ux_health_releases_draw ON health_releases(partnership_id, viewer_organization_id, figure, period, currency, viewer_data_key,
    owner_data_key, exact);
CREATE INDEX ix_health_releases_latest ON health_releases(partnership_id, viewer_organization_id, figure, period, currency, exact, released_at);
