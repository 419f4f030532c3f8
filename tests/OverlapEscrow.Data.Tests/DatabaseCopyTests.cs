using Dapper;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Data.Maintenance;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// The copy of an SQLite escrow into PostgreSQL takes every table the schema has — found in the catalogs, so a table a
/// later migration adds cannot be left behind — or takes nothing.
/// </summary>
public class DatabaseCopyTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<List<string>> SqliteTablesAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        return (await connection.QueryAsync<string>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'")).Order(StringComparer.Ordinal).ToList();
    }

    private static async Task WithTargetAsync(Func<string, Task> test)
    {
        var database = await CreateDatabaseAsync();
        try { await test(ConnectionString(database)); }
        finally
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await DropDatabaseAsync(database);
        }
    }

    [PostgresFact]
    public async Task EveryTableOfTheSchemaIsCopiedAndDigestsAlikeOnBothSides()
    {
        await using var s = await CreateAsync("sqlite");
        var acme = await s.OrganizationAsync("acme");
        await s.PopulationAsync(acme);
        await s.OrganizationAsync("globex");
        SqliteConnection.ClearAllPools();
        var copy = new DatabaseCopy();
        await WithTargetAsync(async target =>
        {
            var copied = await copy.CopyAsync(s.DatabasePath, target, null, None);
            Assert.Equal(await SqliteTablesAsync(s.DatabasePath), copied.Select(t => t.Table).Order(StringComparer.Ordinal));
            Assert.Equal(2, copied.Single(t => t.Table == "organizations").Rows);
            var source = await copy.DigestSqliteAsync(s.DatabasePath, None);
            var copiedDigests = await copy.DigestTargetAsync(target, None);
            Assert.Equal(source, copiedDigests);
            // Not a digest that says "same" of anything: one changed value changes it.
            await using var connection = new Npgsql.NpgsqlConnection(target);
            await connection.ExecuteAsync("UPDATE organizations SET name = name || ' ' WHERE slug = 'acme'");
            var changed = await copy.DigestTargetAsync(target, None);
            Assert.NotEqual(source.Single(d => d.Table == "organizations").Sha256, changed.Single(d => d.Table == "organizations").Sha256);
            Assert.Equal(source.Where(d => d.Table != "organizations"), changed.Where(d => d.Table != "organizations"));
        });
    }

    [PostgresFact]
    public async Task ATableOnSqliteWithoutAPostgresCounterpartStopsTheCopyNamingItAndTheTargetStaysEmpty()
    {
        await using var s = await CreateAsync("sqlite");
        await s.OrganizationAsync("acme");
        await using (var connection = new SqliteConnection($"Data Source={s.DatabasePath};Pooling=False"))
        {
            // What a migration written for SQLite alone would leave: a table PostgreSQL's schema does not have.
            await connection.ExecuteAsync("CREATE TABLE partner_notes (id TEXT PRIMARY KEY, note TEXT NOT NULL); INSERT INTO partner_notes VALUES ('n1', 'kept');");
            await connection.ExecuteAsync("ALTER TABLE organizations ADD COLUMN tier TEXT NULL");
        }
        SqliteConnection.ClearAllPools();
        var copy = new DatabaseCopy();
        await WithTargetAsync(async target =>
        {
            var failure = await Assert.ThrowsAsync<InvalidDataException>(() => copy.CopyAsync(s.DatabasePath, target, null, None));
            Assert.Contains("table partner_notes of the SQLite database has no counterpart in PostgreSQL", failure.Message);
            Assert.Contains("column organizations.tier of the SQLite database has no counterpart in PostgreSQL", failure.Message);
            Assert.Empty(await copy.TargetContentsAsync(target, None));
        });
    }

    [PostgresFact]
    public async Task AValueThatDoesNotConvertStopsTheCopyNamingTableColumnAndRowAndTheTargetStaysEmpty()
    {
        await using var s = await CreateAsync("sqlite");
        await s.OrganizationAsync("acme");
        await using (var connection = new SqliteConnection($"Data Source={s.DatabasePath};Pooling=False"))
            // SQLite keeps text that does not look like a number in an INTEGER column as it is.
            await connection.ExecuteAsync("UPDATE organizations SET created_at = 'yesterday'");
        SqliteConnection.ClearAllPools();
        var copy = new DatabaseCopy();
        await WithTargetAsync(async target =>
        {
            var failure = await Assert.ThrowsAsync<InvalidDataException>(() => copy.CopyAsync(s.DatabasePath, target, null, None));
            Assert.Contains("Table organizations, column created_at, row 1: an SQLite text does not convert to PostgreSQL's bigint", failure.Message);
            Assert.DoesNotContain("yesterday", failure.Message);
            Assert.Empty(await copy.TargetContentsAsync(target, None));
        });
    }

    [Fact]
    public void TablesAreCopiedParentsFirstAndForeignKeysInACycleAreRefused()
    {
        var order = DatabaseCopy.DependencyOrder(["segments", "organizations", "population_versions", "populations", "audit_events"],
            [("segments", "population_versions"), ("population_versions", "populations"), ("populations", "organizations")]);
        Assert.Equal(["audit_events", "organizations", "populations", "population_versions", "segments"], order);
        var cycle = Assert.Throws<InvalidDataException>(() => DatabaseCopy.DependencyOrder(["a", "b", "c"], [("a", "b"), ("b", "a")]));
        Assert.Contains("a, b", cycle.Message);
    }
}
