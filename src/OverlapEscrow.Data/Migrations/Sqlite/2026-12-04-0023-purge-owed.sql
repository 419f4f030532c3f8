-- A purge of deleted content the database owes (docs/operations.md, "Deleting an organization"): owed before an erasure
-- or a sealing pass deletes or clears anything, paid by a purge that finished after it. A purge that fails (a full disk,
-- a log a reader still holds) leaves it owed, and the next start and a periodic worker try again. One row, never
-- deleted: generation rises each time a purge is owed; a purge reads it before it begins and, once finished, raises
-- paid_generation to what it read (never lowers it), so a change owed while a purge ran, or after it began, stays owed.
-- owed_since is Unix milliseconds (UTC), the time of the latest owe.
CREATE TABLE purge_owed (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    generation      INTEGER NOT NULL,
    paid_generation INTEGER NOT NULL DEFAULT 0,
    owed_since      INTEGER NOT NULL
);
