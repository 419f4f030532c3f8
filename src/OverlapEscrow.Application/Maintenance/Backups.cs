using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Maintenance;

/// <summary>A backup written: where, its size, how long it took, and its SHA-256 (also in the manifest beside it).</summary>
public sealed record BackupResult(string Path, long Bytes, TimeSpan Took, string Sha256);

/// <summary>A restore done: the backup restored, and where the database it replaced was kept.</summary>
public sealed record RestoreResult(string From, string ReplacedKeptAt);

/// <summary>The service holds this lock (shared) while it runs; a restore takes it exclusively, so it never replaces a database in use.</summary>
public sealed class ServiceLock : IDisposable
{
    private readonly FileStream _stream;

    private ServiceLock(FileStream stream) => _stream = stream;

    public static string PathFor(string databasePath) => databasePath + ".lock";

    /// <summary>Held by every running instance (shared: several instances may run on one database).</summary>
    public static ServiceLock Shared(string databasePath)
    {
        var path = PathFor(databasePath);
        if (!File.Exists(path)) File.WriteAllBytes(path, []);
        // Read-only with sharing: an advisory shared lock (flock LOCK_SH on Unix) that only an exclusive one conflicts with.
        return new ServiceLock(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
    }

    /// <summary>Held by a restore: null when a service (or another restore) holds the database.</summary>
    public static ServiceLock? TryExclusive(string databasePath)
    {
        try
        {
            return new ServiceLock(new FileStream(PathFor(databasePath), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>
/// Consistent online backups of the database and their restore (the operator's command line). A backup holds the
/// database only: never the keyring or the escrow's keys, which by design are backed up separately and kept for a
/// shorter time (docs/operations.md), so that destroying an organization's keys also erases it from every backup.
/// </summary>
public sealed class Backups(IDatabaseMaintenance database, TimeProvider time, ILogger<Backups> logger)
{
    private static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>
    /// Writes a consistent copy of the database to <paramref name="path"/> while the service runs (or not): first to
    /// "path.partial", then checked with the database's integrity check, flushed and renamed, with a manifest
    /// ("path.json": time, size, SHA-256) beside it. A failure (a full disk, say) leaves no file named <paramref name="path"/>.
    /// </summary>
    public async Task<BackupResult> BackupAsync(string path, CancellationToken ct)
    {
        var target = Path.GetFullPath(path);
        if (File.Exists(target)) throw new IOException($"{target} exists already; a backup never overwrites a file.");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var partial = target + ".partial";
        if (File.Exists(partial)) File.Delete(partial); // left by an interrupted backup
        var started = time.GetTimestamp();
        try
        {
            var bytes = await database.BackupToAsync(partial, ct);
            var (ok, problems) = await database.CheckIntegrityAsync(partial, ct);
            if (!ok) throw new InvalidDataException("The backup failed its integrity check: " + string.Join("; ", problems));
            File.Move(partial, target);
            SecureFiles.SyncDirectory(Path.GetDirectoryName(target)!);
            var sha = await Sha256Async(target, ct);
            var took = time.GetElapsedTime(started);
            var manifest = new { kind = "overlap-escrow-database-backup", createdAt = time.GetUtcNow(), bytes, sha256 = sha, from = database.DatabasePath,
                note = "The database only: organizations' data keys are in the keyring, which this backup does not hold." };
            SecureFiles.WriteAtomic(target + ".json", JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJson), ownerOnly: false);
            logger.LogInformation("Backup written to {Path}: {Bytes} bytes in {Millis} ms", target, bytes, (long)took.TotalMilliseconds);
            return new BackupResult(target, bytes, took, sha);
        }
        finally
        {
            if (File.Exists(partial)) File.Delete(partial);
        }
    }

    /// <summary>
    /// Puts a backup in place of the database, with the service stopped (refused while any instance holds the
    /// database). The backup is checked first, copied beside the database and flushed, then the current database (with
    /// its log) is moved aside — kept, not deleted — and the copy renamed into place. The next start applies migrations,
    /// and erases again every organization the keyring marks as erased since the backup was taken.
    /// </summary>
    public async Task<RestoreResult> RestoreAsync(string backupPath, CancellationToken ct)
    {
        var from = Path.GetFullPath(backupPath);
        if (!File.Exists(from)) throw new FileNotFoundException($"No backup at {from}.", from);
        var (ok, problems) = await database.CheckIntegrityAsync(from, ct);
        if (!ok) throw new InvalidDataException("The backup fails its integrity check; nothing was changed: " + string.Join("; ", problems));
        var dbPath = Path.GetFullPath(database.DatabasePath);
        using var exclusive = ServiceLock.TryExclusive(dbPath)
            ?? throw new InvalidOperationException("The service is running on this database; stop every instance first (a restore replaces the database file).");
        var staging = dbPath + ".restoring";
        File.Copy(from, staging, overwrite: true);
        using (var stream = new FileStream(staging, FileMode.Open, FileAccess.ReadWrite)) stream.Flush(flushToDisk: true);
        var keptAt = $"{dbPath}.before-restore-{time.GetUtcNow():yyyyMMddTHHmmssZ}";
        foreach (var suffix in new[] { "", "-wal", "-shm" })
            if (File.Exists(dbPath + suffix)) File.Move(dbPath + suffix, keptAt + suffix);
        File.Move(staging, dbPath);
        SecureFiles.SyncDirectory(Path.GetDirectoryName(dbPath)!);
        logger.LogWarning("Restored {From} into {Database}; the replaced database is kept at {KeptAt}", from, dbPath, keptAt);
        return new RestoreResult(from, keptAt);
    }

    private static async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
    }
}
