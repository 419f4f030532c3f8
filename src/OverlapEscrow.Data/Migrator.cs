using System.Reflection;
using Dapper;

namespace OverlapEscrow.Data;

/// <summary>
/// Applies the embedded, dated, forward-only migration scripts of one dialect in name order, each in its own
/// transaction, and records them in schema_migrations. Safe to run at every start and from several instances.
/// </summary>
internal sealed class Migrator(IDbConnectionFactory connections, string dialect)
{
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var assembly = typeof(Migrator).Assembly;
        var prefix = $"{assembly.GetName().Name}.Migrations.{dialect}.";
        var scripts = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();

        await using var connection = await connections.OpenAsync(cancellationToken);
        if (dialect == "Sqlite")
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL;", cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)", cancellationToken: cancellationToken));

        var applied = new List<string>();
        foreach (var script in scripts)
        {
            var id = script[prefix.Length..^".sql".Length];
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
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

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
