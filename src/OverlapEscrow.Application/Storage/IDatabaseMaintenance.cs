namespace OverlapEscrow.Application.Storage;

/// <summary>What the operator's tasks need of the database file itself.</summary>
public interface IDatabaseMaintenance
{
    /// <summary>The database file.</summary>
    string DatabasePath { get; }

    /// <summary>
    /// Writes a consistent copy of the database, as of one moment, to <paramref name="path"/> (which must not exist)
    /// while writers go on; free pages are not copied. Returns the copy's size in bytes.
    /// </summary>
    Task<long> BackupToAsync(string path, CancellationToken ct);

    /// <summary>Whether the database file at <paramref name="path"/> passes the database's own integrity check; the first problems otherwise.</summary>
    Task<(bool Ok, IReadOnlyList<string> Problems)> CheckIntegrityAsync(string path, CancellationToken ct);

    /// <summary>
    /// Makes deleted content unreadable from the files: copies the write-ahead log into the database and truncates it,
    /// so page images of deleted rows do not stay in the log (deleted pages themselves are zeroed as they are freed).
    /// </summary>
    Task PurgeDeletedContentAsync(CancellationToken ct);
}
