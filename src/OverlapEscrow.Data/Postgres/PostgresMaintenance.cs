using Dapper;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Data.Maintenance;

namespace OverlapEscrow.Data.Postgres;

/// <summary>
/// The operator's database tasks on PostgreSQL: backups and restores belong to the server's own tools (pg_dump,
/// pg_restore, base backups with WAL archiving; docs/operations.md), which see every instance's writes; the escrow's
/// file-copy backup refuses with a message saying so. Purging deleted content vacuums the tables that hold sealed
/// data, so the space of deleted rows is reclaimed (what remains in it is ciphertext under a destroyed key).
/// </summary>
internal sealed class PostgresMaintenance(IDbConnectionFactory connections, string localMarker) : IDatabaseMaintenance
{
    /// <summary>
    /// Not a database file: a path in the data directory that names this database for the local service lock (which
    /// only orders instances and restores on one machine; several machines are ordered by the database's own locks).
    /// </summary>
    public string DatabasePath => localMarker;

    private const string UsePgDump =
        "On PostgreSQL the escrow does not copy the database itself: back it up with pg_dump (or base backups and WAL " +
        "archiving) and restore with pg_restore; see docs/operations.md, \"Backups on PostgreSQL\".";

    public Task<long> BackupToAsync(string path, CancellationToken ct) => throw new NotSupportedException(UsePgDump);

    public Task<(bool Ok, IReadOnlyList<string> Problems)> CheckIntegrityAsync(string path, CancellationToken ct) =>
        throw new NotSupportedException(UsePgDump);

    /// <summary>The tables whose deleted rows held sealed or personal data.</summary>
    private static readonly string[] Tables =
        ["segments", "version_columns", "overlap_history", "webhooks", "webhook_deliveries", "schedules", "members", "api_keys", "refresh_tokens",
         "member_sessions", "data_requests", "attributions", "population_versions", "populations", "organizations"];

    public async Task<bool> PurgeDeletedContentAsync(CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(ct);
        var owed = await PurgeDebt.OwedAsync(connection, ct);
        // VACUUM cannot run inside a transaction: each statement is its own.
        foreach (var table in Tables)
            await connection.ExecuteAsync(new CommandDefinition($"VACUUM {table}", cancellationToken: ct, commandTimeout: 0));
        await PurgeDebt.PaidAsync(connection, owed, ct);
        return true;
    }

    public Task OwePurgeAsync(CancellationToken ct) => PurgeDebt.OweAsync(connections, ct);

    public Task<bool> PurgeOwedAsync(CancellationToken ct) => PurgeDebt.IsOwedAsync(connections, ct);
}
