-- Privacy-protected counts (docs/privacy.md): every counts-level value released to a viewer, the budgets the
-- releases spend, and each owner's settings per partner. Times are Unix milliseconds (UTC); ε is stored as an integer
-- number of millionths, so budgets add up exactly.

-- One row per release of a counts-level cell to its viewer (organization viewer_organization_id, its population
-- viewer_population_id, against owner_population_id of owner_organization_id), for the data of both sides as they were
-- (their version ids, 'none' before a first upload). value is what the viewer may read, gate what the minimum
-- reportable count is compared with: both the bounded count plus discrete Laplace noise of epsilon_millionths, or, for
-- an exact release (epsilon_millionths = 0, the owner's explicit choice), the viewer's count and the smaller of both
-- sides' counts. A value is released once per cell and data (the head below decides), and again for the same data only
-- when the owner switches between exact and noised counts. Deleted with the cell's history (a cell the owner hides
-- now, a terminated partnership).
CREATE TABLE count_releases (
    id                    text COLLATE "C" PRIMARY KEY,
    partnership_id        text COLLATE "C" NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    viewer_organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    viewer_population_id  text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    owner_organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    owner_population_id   text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    viewer_version_id     text COLLATE "C" NOT NULL,
    owner_version_id      text COLLATE "C" NOT NULL,
    released_at           bigint NOT NULL,
    value                 bigint NOT NULL,
    gate                  bigint NOT NULL,
    epsilon_millionths    bigint NOT NULL
);
CREATE INDEX ix_count_releases_cell ON count_releases(partnership_id, viewer_organization_id, viewer_population_id, owner_population_id, released_at);

-- The latest release of each cell and viewing side: a release moves it with a compare-and-set, so two requests that
-- saw the same change release it once.
CREATE TABLE count_release_heads (
    partnership_id         text COLLATE "C" NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    viewer_organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    viewer_population_id   text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    owner_population_id    text COLLATE "C" NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    latest_release_id      text COLLATE "C" NOT NULL,
    PRIMARY KEY (partnership_id, viewer_organization_id, viewer_population_id, owner_population_id)
);

-- What an owner's counts-level releases to one partner organization spent in one budget period (named by its start).
-- A release adds to spent with one conditional update that never lets it exceed the budget in force.
CREATE TABLE privacy_budgets (
    owner_organization_id   text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    partner_organization_id text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    period_start            bigint NOT NULL,
    spent_millionths        bigint NOT NULL DEFAULT 0,
    releases                bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (owner_organization_id, partner_organization_id, period_start)
);

-- An owner's settings for one partner organization; NULL means the escrow's default. exact_counts = 1 is the owner's
-- explicit choice to give up the guarantee.
CREATE TABLE privacy_settings (
    owner_organization_id        text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    partner_organization_id      text COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    epsilon_per_period_millionths bigint NULL,
    epsilon_per_release_millionths bigint NULL,
    refresh_interval_minutes     bigint NULL,
    exact_counts                 bigint NOT NULL DEFAULT 0,
    updated_at                   bigint NOT NULL,
    updated_by                   text COLLATE "C" NOT NULL,
    PRIMARY KEY (owner_organization_id, partner_organization_id)
);
