using System.Reflection;
using Dapper;

namespace OverlapEscrow.Data;

/// <summary>
/// Applies the embedded, dated, forward-only migration scripts of one dialect in name order, each in its own
/// transaction, and records them in schema_migrations. Safe to run at every start and from several instances: on
/// PostgreSQL each migration's transaction first takes an advisory lock, so instances starting together apply each
/// script once, one after the other (SQLite's write transaction already excludes the others).
/// </summary>
internal sealed class Migrator(IDbConnectionFactory connections, SqlDialect dialect)
{
    /// <summary>The advisory lock key of migrations (any constant the escrow uses for nothing else).</summary>
    internal const long MigrationLock = 0x4f45_4d49_4752; // "OEMIGR"

    /// <summary>The dialect's scripts, by resource name, in the order they apply, and the prefix their ids follow.</summary>
    private static (string Prefix, List<string> Scripts) Scripts(SqlDialect dialect)
    {
        var assembly = typeof(Migrator).Assembly;
        var prefix = $"{assembly.GetName().Name}.Migrations.{dialect.Name}.";
        var scripts = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        return (prefix, scripts);
    }

    /// <summary>
    /// Every script, into a database that has none of them yet, inside the caller's transaction (a copy into an empty
    /// PostgreSQL database: the schema and the rows commit together, or nothing does). Takes the migrations' advisory
    /// lock first, so an instance starting on the same database meanwhile waits for the commit.
    /// </summary>
    public async Task<IReadOnlyList<string>> ApplyAllAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction tx, CancellationToken ct)
    {
        var assembly = typeof(Migrator).Assembly;
        var (prefix, scripts) = Scripts(dialect);
        await LockAsync(connection, tx, ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "CREATE TABLE schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", transaction: tx, cancellationToken: ct));
        var applied = new List<string>();
        foreach (var script in scripts)
        {
            var id = script[prefix.Length..^".sql".Length];
            await connection.ExecuteAsync(new CommandDefinition(Read(assembly, script), transaction: tx, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition("INSERT INTO schema_migrations (id, applied_at) VALUES (@id, @at)",
                new { id, at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, tx, cancellationToken: ct));
            applied.Add(id);
        }
        return applied;
    }

    /// <summary>
    /// The migrations of this build not applied to the database, in order (readiness: an instance whose schema is behind
    /// its code must not take requests). Newer migrations applied by a later build do not count: they are additive.
    /// </summary>
    public async Task<IReadOnlyList<string>> PendingAsync(CancellationToken cancellationToken = default)
    {
        var (prefix, scripts) = Scripts(dialect);
        var ids = scripts.Select(s => s[prefix.Length..^".sql".Length]).ToList();
        await using var connection = await connections.OpenAsync(cancellationToken);
        var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition(dialect == SqlDialect.Sqlite
            ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            : "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'",
            cancellationToken: cancellationToken));
        if (exists == 0) return ids;
        var applied = (await connection.QueryAsync<string>(new CommandDefinition("SELECT id FROM schema_migrations", cancellationToken: cancellationToken)))
            .ToHashSet(StringComparer.Ordinal);
        return ids.Where(id => !applied.Contains(id)).ToList();
    }

    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var assembly = typeof(Migrator).Assembly;
        var (prefix, scripts) = Scripts(dialect);

        await using var connection = await connections.OpenAsync(cancellationToken);
        if (dialect == SqlDialect.Sqlite)
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL;", cancellationToken: cancellationToken));
        await using (var tx = await dialect.BeginWriteAsync(connection, cancellationToken))
        {
            await LockAsync(connection, tx, cancellationToken);
            // BIGINT: Unix milliseconds do not fit PostgreSQL's INTEGER (SQLite's INTEGER is 64 bits either way).
            await connection.ExecuteAsync(new CommandDefinition(
                "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", transaction: tx, cancellationToken: cancellationToken));
            await tx.CommitAsync(cancellationToken);
        }

        var applied = new List<string>();
        foreach (var script in scripts)
        {
            var id = script[prefix.Length..^".sql".Length];
            await using var tx = await dialect.BeginWriteAsync(connection, cancellationToken);
            await LockAsync(connection, tx, cancellationToken);
            var done = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM schema_migrations WHERE id = @id", new { id }, tx, cancellationToken: cancellationToken));
            if (done > 0) { await tx.RollbackAsync(cancellationToken); continue; }
            await connection.ExecuteAsync(new CommandDefinition(Read(assembly, script), transaction: tx, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO schema_migrations (id, applied_at) VALUES (@id, @at)",
                new { id, at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, tx, cancellationToken: cancellationToken));
            await tx.CommitAsync(cancellationToken);
            applied.Add(id);
        }
        return applied;
    }

    private async Task LockAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction tx, CancellationToken ct)
    {
        if (dialect.TransactionLock(MigrationLock) is { } sql)
            await connection.ExecuteAsync(new CommandDefinition(sql, transaction: tx, cancellationToken: ct));
    }

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
