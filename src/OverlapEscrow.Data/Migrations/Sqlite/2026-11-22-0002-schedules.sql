-- Sync schedules and their run history (docs/syncs.md). Times are Unix milliseconds (UTC); ids are opaque text.
CREATE TABLE schedules (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    cron               TEXT NOT NULL,
    -- An IANA zone id; occurrences are computed in its wall-clock time.
    time_zone          TEXT NOT NULL,
    enabled            INTEGER NOT NULL,
    -- 'pull' (fetch a snapshot and upload it) or 'refresh' (recompute the organization's overlaps).
    kind               TEXT NOT NULL,
    population_id      TEXT NULL REFERENCES populations(id) ON DELETE SET NULL,
    format             TEXT NULL,
    on_error           TEXT NULL,
    source_url         TEXT NULL,
    secret_header_name TEXT NULL,
    -- The secret header's value, sealed (AES-256-GCM) with the organization's data key; never returned.
    secret_nonce       BLOB NULL,
    secret_value       BLOB NULL,
    source_directory   TEXT NULL,
    source_pattern     TEXT NULL,
    -- The next occurrence: its instant and its wall-clock time in the zone. The one after it is computed from
    -- the wall-clock time, so a repeated autumn hour cannot produce a second run.
    next_run_at        INTEGER NULL,
    next_run_wall      TEXT NULL,
    last_run_id        TEXT NULL,
    last_run_status    TEXT NULL,
    last_run_at        INTEGER NULL,
    -- The instance running the schedule and until when: taken with a conditional UPDATE, renewed while the run
    -- lasts, released at its end; a crashed instance's lease simply expires.
    lease_owner        TEXT NULL,
    lease_until        INTEGER NULL,
    created_by         TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (organization_id, name)
);
CREATE INDEX ix_schedules_next_run ON schedules(next_run_at) WHERE enabled = 1;

-- One row per attempt of a run; retries point at the first attempt with retry_of.
CREATE TABLE sync_runs (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    schedule_id     TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- 'schedule', 'manual' or 'push'
    trigger_type    TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    retry_of        TEXT NULL,
    -- 'queued' (a manual run not started yet), 'running', 'succeeded' or 'failed'
    status          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER NULL,
    finished_at     INTEGER NULL,
    rows_read       INTEGER NOT NULL DEFAULT 0,
    records_applied INTEGER NOT NULL DEFAULT 0,
    rows_rejected   INTEGER NOT NULL DEFAULT 0,
    -- The problem's title and detail; never partner data or exception text.
    error_title     TEXT NULL,
    error_detail    TEXT NULL
);
CREATE INDEX ix_sync_runs_schedule ON sync_runs(schedule_id, seq);
CREATE INDEX ix_sync_runs_status ON sync_runs(schedule_id, status);
