-- A purge of deleted content the database owes (the SQLite migration of the same name describes the columns): owed
-- before an erasure or a sealing pass, paid by a purge (a VACUUM of the tables) that finished after it.
CREATE TABLE purge_owed (
    id              bigint PRIMARY KEY CHECK (id = 1),
    generation      bigint NOT NULL,
    paid_generation bigint NOT NULL DEFAULT 0,
    owed_since      bigint NOT NULL
);
