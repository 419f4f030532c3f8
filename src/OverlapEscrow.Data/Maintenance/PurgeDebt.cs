using System.Data.Common;
using Dapper;

namespace OverlapEscrow.Data.Maintenance;

/// <summary>
/// The purge a database owes (table <c>purge_owed</c>, at most one row): the same statements on SQLite and PostgreSQL.
/// Owing again bumps the generation, and a purge pays only the generation it read before it began, so a change made
/// while a purge runs keeps its own debt.
/// </summary>
internal static class PurgeDebt
{
    /// <summary><see cref="Application.Storage.IDatabaseMaintenance.OwePurgeAsync"/> on either database.</summary>
    public static async Task OweAsync(IDbConnectionFactory connections, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(ct);
        await OweAsync(connection, ct);
    }

    /// <summary><see cref="Application.Storage.IDatabaseMaintenance.PurgeOwedAsync"/> on either database.</summary>
    public static async Task<bool> IsOwedAsync(IDbConnectionFactory connections, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(ct);
        return await OwedAsync(connection, ct) is not null;
    }

    public static Task OweAsync(DbConnection connection, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO purge_owed (id, generation, owed_since) VALUES (1, 1, @now)
            ON CONFLICT (id) DO UPDATE SET generation = purge_owed.generation + 1
            """, new { now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, cancellationToken: ct));

    /// <summary>The generation owed, or null when nothing is.</summary>
    public static Task<long?> OwedAsync(DbConnection connection, CancellationToken ct) =>
        connection.ExecuteScalarAsync<long?>(new CommandDefinition("SELECT generation FROM purge_owed WHERE id = 1", cancellationToken: ct));

    /// <summary>Takes the debt away if it is still the generation a finished purge read before it began.</summary>
    public static async Task PaidAsync(DbConnection connection, long? generation, CancellationToken ct)
    {
        if (generation is null) return;
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM purge_owed WHERE id = 1 AND generation = @generation", new { generation }, cancellationToken: ct));
    }
}
