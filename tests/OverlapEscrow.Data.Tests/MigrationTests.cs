using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OverlapEscrow.Application.Storage;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>The two databases' migrations stay in step, and PostgreSQL's hold what SQLite's did.</summary>
public class MigrationTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static SortedSet<string> MigrationsOf(string dialect)
    {
        var prefix = $"OverlapEscrow.Data.Migrations.{dialect}.";
        return new SortedSet<string>(typeof(SqlDialect).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => n[prefix.Length..]), StringComparer.Ordinal);
    }

    [Fact]
    public void EverySqliteMigrationHasAPostgresCounterpartUnderTheSameNameAndNoOther()
    {
        var sqlite = MigrationsOf("Sqlite");
        var postgres = MigrationsOf("Postgres");
        Assert.NotEmpty(sqlite);
        // A migration added to one folder only fails here, naming it: write its counterpart (docs/architecture.md,
        // "Databases and dialects", has the type mapping).
        Assert.Empty(sqlite.Except(postgres));
        Assert.Empty(postgres.Except(sqlite));
    }

    [Theory, StorageData]
    public async Task PendingMigrationsAreEveryOneOnAnEmptyDatabaseNoneOnceMigratedAndExactlyTheOneWhoseRowIsMissing(string provider)
    {
        var dialect = provider == "postgres" ? "Postgres" : "Sqlite";
        var expected = MigrationsOf(dialect).Select(n => n[..^".sql".Length]).ToList();
        var database = provider == "postgres" ? await CreateDatabaseAsync() : null;
        var file = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"), "escrow.db");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await using var services = database is null
            ? new ServiceCollection().AddSqliteStorage(file).BuildServiceProvider()
            : new ServiceCollection().AddPostgresStorage(ConnectionString(database), Path.Combine(Path.GetTempPath(), "oe-unused")).BuildServiceProvider();
        try
        {
            var migrations = services.GetRequiredService<IStorageMigrations>();
            Assert.Equal(expected, await migrations.PendingAsync(None));
            await migrations.MigrateAsync(None);
            Assert.Empty(await migrations.PendingAsync(None));

            await using (var connection = await services.GetRequiredService<IDbConnectionFactory>().OpenAsync(None))
                await connection.ExecuteAsync("DELETE FROM schema_migrations WHERE id = @id", new { id = expected[3] });
            Assert.Equal([expected[3]], await migrations.PendingAsync(None));
        }
        finally
        {
            if (database is not null) await DropDatabaseAsync(database);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
    }

    [Theory, StorageData]
    public async Task MigratingAgainAppliesNothingAndTwoInstancesStartingTogetherApplyEachMigrationOnce(string provider)
    {
        if (provider == "postgres")
        {
            // A fresh database, migrated by four instances starting at the same moment.
            var database = await CreateDatabaseAsync();
            try
            {
                var instances = Enumerable.Range(0, 4)
                    .Select(_ => new ServiceCollection()
                        .AddPostgresStorage(ConnectionString(database), Path.Combine(Path.GetTempPath(), "oe-unused")).BuildServiceProvider())
                    .ToList();
                var applied = await Task.WhenAll(instances.Select(i => Task.Run(() =>
                    i.GetRequiredService<IStorageMigrations>().MigrateAsync(None))));
                Assert.Equal(MigrationsOf("Postgres").Count, applied.Sum(a => a.Count));
                Assert.Equal(MigrationsOf("Postgres").Count, applied.SelectMany(a => a).Distinct().Count());
                foreach (var i in instances) await i.DisposeAsync();
            }
            finally
            {
                await DropDatabaseAsync(database);
            }
        }
        await using var s = await CreateAsync(provider);
        using var connection = s.OpenConnection();
        Assert.Equal(MigrationsOf(s.Provider == "postgres" ? "Postgres" : "Sqlite").Count,
            await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations"));
    }

    [PostgresFact]
    public async Task OnPostgresAnAppendWaitsWhileAnotherTransactionHoldsTheAuditHeadRow()
    {
        await using var s = await CreateAsync("postgres");
        await using var holder = (NpgsqlConnection)s.OpenConnection();
        await using var tx = await holder.BeginTransactionAsync();
        await holder.ExecuteAsync("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE", transaction: tx);

        var append = s.Audit.AppendAsync(new AuditEntry(T0, "org-a", "member:m", "overlaps.released", null, new { }), None);
        await Task.Delay(500);
        Assert.False(append.IsCompleted, "an append went ahead while another transaction held the chain's head");

        await tx.RollbackAsync();
        await append.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, (await s.Audit.VerifyAsync(None)).EventCount);
    }

    [PostgresFact]
    public async Task OnPostgresTheAuditLogRefusesUpdateDeleteAndTruncate()
    {
        await using var s = await CreateAsync("postgres");
        await s.Audit.AppendAsync(new AuditEntry(T0, "org-a", "member:m", "overlaps.released", null, new { }), None);
        await using var connection = (NpgsqlConnection)s.OpenConnection();
        foreach (var sql in new[] { "UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events", "TRUNCATE audit_events" })
            Assert.Contains("append-only", (await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(sql))).MessageText);
        Assert.True((await s.Audit.VerifyAsync(None)).Valid);
    }

    [PostgresFact]
    public async Task OnPostgresMemberEmailsMatchWhateverTheCaseAsOnSqlite()
    {
        await using var s = await CreateAsync("postgres");
        await s.OrganizationAsync("acme");
        Assert.NotNull(await s.Accounts.FindMemberByEmailAsync(Stores.Forms("ADMIN@Acme.Example"), None));
        var other = await s.OrganizationAsync("globex");
        // The unique index decides (no other form is named, so the check before the insert finds nothing).
        Assert.False(await s.Accounts.CreateMemberAsync(Stores.Member(other, "Admin@ACME.example", Domain.Accounts.Roles.Admin), Stores.Forms("someone@else.example"), None));
    }
}
