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
    /// and truncates it, so no page image of a deleted row stays in the log either. Returns whether it finished (false:
    /// a reader still held the log); a purge that finished pays the debt <see cref="OwePurgeAsync"/> recorded before it
    /// began, and only that one.
    /// </summary>
    Task<bool> PurgeDeletedContentAsync(CancellationToken ct);

    /// <summary>
    /// Records, durably, that a purge is owed: called before a change that deletes or clears content (an erasure, a
    /// sealing pass), so that a purge which then fails, or a crash before it, is retried (<see cref="OwedPurge"/>).
    /// </summary>
    Task OwePurgeAsync(CancellationToken ct);

    /// <summary>Whether a purge is owed that no purge has finished since.</summary>
    Task<bool> PurgeOwedAsync(CancellationToken ct);
}

public static class DatabaseMaintenanceExtensions
{
    /// <summary>
    /// <see cref="IDatabaseMaintenance.PurgeDeletedContentAsync"/> where the change it follows is already committed and
    /// stands without it, its purge owed (<see cref="IDatabaseMaintenance.OwePurgeAsync"/>): a failure is logged, by its
    /// type only, not thrown, and the debt stays for <see cref="OwedPurge"/> to pay. Returns whether the purge finished.
    /// </summary>
    public static async Task<bool> TryPurgeDeletedContentAsync(this IDatabaseMaintenance database, ILogger logger, string after, CancellationToken ct)
    {
        try
        {
            // Owed again now that the change is committed: the debt owed before it may have been paid by a purge that began
            // before the commit (the periodic worker's) and so purged nothing of it.
            await database.OwePurgeAsync(ct);
            if (await database.PurgeDeletedContentAsync(ct)) return true;
            logger.LogWarning("Purging the database file after {Change} did not finish: a reader held the log; it is tried again at the next start " +
                              "and every {Minutes} minutes", after, OwedPurge.RetryInterval.TotalMinutes);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Purging the database file after {Change} failed: {ExceptionType}; it is tried again at the next start and every {Minutes} minutes",
                after, e.GetType().Name, OwedPurge.RetryInterval.TotalMinutes);
        }
        return false;
    }
}

/// <summary>
/// Pays a purge the database still owes — one that failed or did not finish after an erasure or a sealing pass, or one
/// a crash cut off — at every start (after the start's own erasures and sealing passes) and every
/// <see cref="RetryInterval"/> while the service runs. Until then the deleted content's bytes may stay in free pages and
/// the log (under keys destroyed, for an erasure; in plaintext, for a sealing pass).
/// </summary>
public sealed class OwedPurge(IDatabaseMaintenance database, ILogger<OwedPurge> logger)
{
    public static readonly TimeSpan RetryInterval = TimeSpan.FromMinutes(10);

    /// <summary>Purges if a purge is owed; returns whether one was owed and has now been paid.</summary>
    public async Task<bool> PayAsync(CancellationToken ct)
    {
        if (!await database.PurgeOwedAsync(ct)) return false;
        if (!await database.TryPurgeDeletedContentAsync(logger, "an earlier change whose purge did not finish", ct)) return false;
        logger.LogInformation("Purged the database file for an earlier change whose purge had not finished");
        return true;
    }
}
