using Microsoft.Extensions.Logging;

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
    /// Makes deleted content unreadable from the files: overwrites every free page with zeros (deleted rows' cells in
    /// live pages are zeroed as they are deleted, secure_delete=FAST), then copies the write-ahead log into the database
    /// and truncates it, so no page image of a deleted row stays in the log either.
    /// </summary>
    Task PurgeDeletedContentAsync(CancellationToken ct);
}

public static class DatabaseMaintenanceExtensions
{
    /// <summary>
    /// <see cref="IDatabaseMaintenance.PurgeDeletedContentAsync"/> where the change it follows is already committed and
    /// stands without it (a later purge or checkpoint does the same): a failure is logged, by its type only, not thrown.
    /// </summary>
    public static async Task TryPurgeDeletedContentAsync(this IDatabaseMaintenance database, ILogger logger, string after, CancellationToken ct)
    {
        try { await database.PurgeDeletedContentAsync(ct); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Purging the database file after {Change} failed: {ExceptionType}", after, e.GetType().Name);
        }
    }
}
