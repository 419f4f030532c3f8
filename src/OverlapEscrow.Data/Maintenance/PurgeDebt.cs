using System.Data.Common;
using Dapper;

namespace OverlapEscrow.Data.Maintenance;

/// <summary>
/// The purge a database owes (table <c>purge_owed</c>, one row, never deleted): the same statements on SQLite and
/// PostgreSQL. Owing raises the generation; a purge reads the generation before it begins and, once finished, raises
/// the paid generation to it — never lowers it — so a change owed while a purge ran (or after a stale one began) stays
/// owed whatever order the purges end in.
/// </summary>
internal static class PurgeDebt
{
    /// <summary><see cref="Application.Storage.IDatabaseMaintenance.OwePurgeAsync"/> on either database.</summary>
    public static async Task OweAsync(IDbConnectionFactory connections, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO purge_owed (id, generation, paid_generation, owed_since) VALUES (1, 1, 0, @now)
            ON CONFLICT (id) DO UPDATE SET generation = purge_owed.generation + 1, owed_since = @now
            """, new { now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, cancellationToken: ct));
    }

    /// <summary><see cref="Application.Storage.IDatabaseMaintenance.PurgeOwedAsync"/> on either database.</summary>
    public static async Task<bool> IsOwedAsync(IDbConnectionFactory connections, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(ct);
        return await OwedAsync(connection, ct) is not null;
    }

    /// <summary>The generation a purge beginning now would pay, or null when nothing is owed.</summary>
    public static Task<long?> OwedAsync(DbConnection connection, CancellationToken ct) =>
        connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT generation FROM purge_owed WHERE id = 1 AND generation > paid_generation", cancellationToken: ct));

    /// <summary>What a finished purge pays: every debt up to the generation it read before it began.</summary>
    public static async Task PaidAsync(DbConnection connection, long? generation, CancellationToken ct)
    {
        if (generation is null) return;
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE purge_owed SET paid_generation = @generation WHERE id = 1 AND paid_generation < @generation", new { generation }, cancellationToken: ct));
    }
}
