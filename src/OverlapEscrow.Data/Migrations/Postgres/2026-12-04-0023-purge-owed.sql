-- A purge of deleted content the database owes (the SQLite migration of the same name describes the columns): written
-- before an erasure or a sealing pass, removed by the purge (a VACUUM of the tables) that finished after it.
CREATE TABLE purge_owed (
    id         bigint PRIMARY KEY CHECK (id = 1),
    generation bigint NOT NULL,
    owed_since bigint NOT NULL
);
