-- A purge of deleted content the database owes (docs/operations.md, "Deleting an organization"): written before an
-- erasure or a sealing pass deletes or clears anything, removed by the purge that finished after it. A purge that fails
-- (a full disk, a log a reader still holds) leaves it in place, and the next start and a periodic worker try again. At
-- most one row; generation is bumped each time a purge is owed again, so a purge that began before a later change does
-- not take away that change's debt. owed_since is Unix milliseconds (UTC).
CREATE TABLE purge_owed (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL,
    owed_since INTEGER NOT NULL
);
