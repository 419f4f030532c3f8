using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Data.Sqlite;

namespace OverlapEscrow.Data.Maintenance;

/// <summary>The database file's own maintenance: consistent backups, integrity checks, purging deleted content.</summary>
internal sealed class DatabaseMaintenance(SqliteConnectionFactory connections) : IDatabaseMaintenance
{
    public string DatabasePath => connections.DatabasePath;

    /// <summary>
    /// VACUUM INTO (SQLite 3.27+): the copy is written from one read transaction, so it is a consistent snapshot as of
    /// its start, and under WAL it does not block writers. Unlike the online backup API it writes a fresh, compact file:
    /// free pages — where deleted rows' bytes may remain — are not copied.
    /// </summary>
    public async Task<long> BackupToAsync(string path, CancellationToken ct)
    {
        if (File.Exists(path)) throw new IOException($"{path} exists already; a backup never overwrites a file.");
        // An empty owner-only file first (VACUUM INTO writes into an empty file): a backup holds what the database holds
        // in clear (organization, population and schedule names, the partnership graph, counts), so no other local user may
        // read it, not even while it is written.
        SqliteConnectionFactory.CreateOwnerOnly(path);
        await using var connection = await connections.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("VACUUM INTO @path", new { path }, cancellationToken: ct));
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite)) stream.Flush(flushToDisk: true);
        return new FileInfo(path).Length;
    }

    public async Task<(bool Ok, IReadOnlyList<string> Problems)> CheckIntegrityAsync(string path, CancellationToken ct)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync(ct);
        var results = (await connection.QueryAsync<string>(new CommandDefinition("PRAGMA integrity_check(20)", cancellationToken: ct))).ToList();
        var ok = results is ["ok"];
        var foreignKeys = (await connection.QueryAsync(new CommandDefinition("PRAGMA foreign_key_check", cancellationToken: ct))).Count();
        if (foreignKeys > 0) results.Add($"{foreignKeys} rows break a foreign key.");
        return (ok && foreignKeys == 0, ok && foreignKeys == 0 ? [] : results);
    }

    /// <summary>Free pages overwritten per transaction: the write lock is held for one chunk at a time (scripts/secure-delete-cost).</summary>
    private const int ScrubChunkPages = 4096;

    /// <summary>How long the purge's checkpoint waits for readers to let go of the log before it leaves the purge owed.</summary>
    private const int CheckpointWaitMilliseconds = 2000;

    public Task OwePurgeAsync(CancellationToken ct) => PurgeDebt.OweAsync(connections, ct);

    public Task<bool> PurgeOwedAsync(CancellationToken ct) => PurgeDebt.IsOwedAsync(connections, ct);

    public async Task<bool> PurgeDeletedContentAsync(CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(ct);
        var owed = await PurgeDebt.OwedAsync(connection, ct);
        // Free pages keep whatever they held: a deleted segment's overflow pages, say. Filling them with zero blobs (a
        // chunk per transaction, so writers wait for one chunk at most) and deleting those leaves every free page
        // zeroed. A pass takes at most twice the free space it found, so it ends even when a chunk's cell fits in a
        // page already in use.
        var pageSize = await connection.ExecuteScalarAsync<long>(new CommandDefinition("PRAGMA page_size", cancellationToken: ct));
        var found = await connection.ExecuteScalarAsync<long>(new CommandDefinition("PRAGMA freelist_count", cancellationToken: ct));
        for (long written = 0; written < 2 * found;)
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            var free = await connection.ExecuteScalarAsync<long>(new CommandDefinition("PRAGMA freelist_count", transaction: tx, cancellationToken: ct));
            if (free == 0) break;
            var pages = Math.Min(free, ScrubChunkPages);
            await connection.ExecuteAsync(new CommandDefinition("INSERT INTO free_page_scrub (filler) VALUES (zeroblob(@bytes))",
                new { bytes = pages * (pageSize - 64) }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            written += pages;
        }
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM free_page_scrub", cancellationToken: ct));
        // TRUNCATE copies the log into the database file and truncates it to zero bytes once readers and writers have let
        // go of it, waiting for them up to the busy timeout set here (writers wait meanwhile: a purge is rare); busy
        // (a reader still on an old snapshot) leaves frames in the log, and the debt with them, for the next purge.
        // Paying the debt writes its own page to the log again, which holds nothing else.
        var timeout = await connection.ExecuteScalarAsync<long>(new CommandDefinition("PRAGMA busy_timeout", cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition($"PRAGMA busy_timeout = {Math.Max(timeout, CheckpointWaitMilliseconds)}", cancellationToken: ct));
        long busy;
        try { busy = await connection.QuerySingleAsync<long>(new CommandDefinition("PRAGMA wal_checkpoint(TRUNCATE)", cancellationToken: ct)); }
        finally
        {
            // A pooled connection gets its timeout back. Should that fail, the checkpoint's own exception (if any) is the one
            // reported, and the connection merely waits up to 2 s for readers in later statements.
            try { await connection.ExecuteAsync(new CommandDefinition($"PRAGMA busy_timeout = {timeout}", cancellationToken: CancellationToken.None)); }
            catch (DbException) { }
        }
        if (busy != 0) return false;
        await PurgeDebt.PaidAsync(connection, owed, ct);
        return true;
    }
}
