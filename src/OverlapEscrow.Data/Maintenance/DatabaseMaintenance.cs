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

    public async Task PurgeDeletedContentAsync(CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(ct);
        // TRUNCATE waits for readers and writers to let go of the log, copies it into the database file and truncates it
        // to zero bytes; busy (another connection still reading an old snapshot) leaves it for the next purge.
        await connection.ExecuteAsync(new CommandDefinition("PRAGMA wal_checkpoint(TRUNCATE)", cancellationToken: ct));
    }
}
