using System.Security.Cryptography;
using Dapper;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Populations;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// The SQLite file's own settings (docs/architecture.md, "Databases and dialects"; docs/performance.md, "Uploads"): the page
/// size a new database is created with, and databases created before it, which keep theirs.
/// </summary>
public class SqliteFileSettingsTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task ANewDatabaseIsCreatedWithPagesOfSixtyFourKibInWalMode()
    {
        await using var s = await CreateAsync("sqlite");
        await using var connection = s.OpenConnection();

        Assert.Equal(65536L, await connection.ExecuteScalarAsync<long>("PRAGMA page_size"));
        Assert.Equal("wal", await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode"));
    }

    /// <summary>What the escrow made before: SQLite's default page size, WAL, and the migrations table (the first thing the
    /// migrator wrote), so the page size is fixed in the file before the migrator of this version opens it.</summary>
    private static void CreatedWithFourKibPages(string file)
    {
        using var old = new SqliteConnection($"Data Source={file};Pooling=False");
        old.Open();
        old.Execute("PRAGMA journal_mode = WAL; CREATE TABLE schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)");
        Assert.Equal(4096L, old.ExecuteScalar<long>("PRAGMA page_size"));
    }

    /// <summary>A committed version of three segments larger than a page of either size (chains of overflow pages).</summary>
    private static async Task<(string Version, List<SealedValue> Segments)> CommittedVersionAsync(Stores s)
    {
        var org = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(org);
        var version = Ids.New("ver");
        await s.Populations.BeginVersionAsync(version, pop, VersionKind.Snapshot, T0, None);
        var segments = Enumerable.Range(0, 3).Select(i => new SealedValue(RandomNumberGenerator.GetBytes(12), RandomNumberGenerator.GetBytes(150_000 + i * 70_001), 1)).ToList();
        for (var i = 0; i < segments.Count; i++)
            Assert.True(await s.Populations.AppendSegmentAsync(new Segment(version, i, 10, segments[i]), T0, None));
        Assert.NotNull(await s.Populations.CommitAsync(version, 30, T0, null, null, None));
        return (version, segments);
    }

    [Fact]
    public async Task ADatabaseCreatedWithTheFormerFourKibPagesKeepsThemAndStillMigratesStoresAndReadsItsSegments()
    {
        await using var s = await CreateAsync("sqlite", CreatedWithFourKibPages);
        var (version, segments) = await CommittedVersionAsync(s);

        var chain = Assert.Single(await s.Populations.ReadChainAsync(version, None));
        Assert.Equal(segments.Select(x => x.Ciphertext), chain.Segments.Select(x => x.Data.Ciphertext));
        await using var connection = s.OpenConnection();
        Assert.Equal(4096L, await connection.ExecuteScalarAsync<long>("PRAGMA page_size"));
        Assert.Equal("wal", await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode"));
        Assert.Equal(["ok"], await connection.QueryAsync<string>("PRAGMA integrity_check"));
        // Its log is still checkpointed every 4 MiB: 1,024 of its pages, not 64.
        await using var pooled = await s.Connections.OpenAsync(None);
        Assert.Equal(1024L, await pooled.ExecuteScalarAsync<long>("PRAGMA wal_autocheckpoint"));
    }

    [Fact]
    public async Task ABackupOfAFourKibDatabaseIsACompleteCopyWithSixtyFourKibPages()
    {
        // VACUUM INTO writes a new file with the page size the connection asks for, so a backup restored in place of an
        // old database moves it to the new page size (docs/operations.md, "Backups").
        await using var s = await CreateAsync("sqlite", CreatedWithFourKibPages);
        var (version, segments) = await CommittedVersionAsync(s);
        var backup = Path.Combine(Path.GetDirectoryName(s.DatabasePath)!, "backup.db");

        await new Maintenance.DatabaseMaintenance(new Sqlite.SqliteConnectionFactory(s.DatabasePath)).BackupToAsync(backup, None);

        await using var copy = new SqliteConnection($"Data Source={backup};Pooling=False;Mode=ReadOnly");
        copy.Open();
        Assert.Equal(65536L, await copy.ExecuteScalarAsync<long>("PRAGMA page_size"));
        Assert.Equal(["ok"], await copy.QueryAsync<string>("PRAGMA integrity_check"));
        var stored = (await copy.QueryAsync<byte[]>("SELECT data FROM segments WHERE version_id = @version ORDER BY seq", new { version })).ToList();
        Assert.Equal(segments.Select(x => x.Ciphertext), stored);
    }
}
