using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Versions stored ready to join (docs/architecture.md, "Versions stored ready to join"): matching reads a version's
/// stored token columns, lists read its record blocks, and a version stored before the columns existed is read from its
/// record segments once and gets its columns then.
/// </summary>
public sealed class VersionColumnsTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private sealed record Cell(Org Viewer, Org Owner, string PartnershipId, string Mine, string Theirs);

    /// <summary>
    /// Two organizations over several record blocks each (256 records a block): the owner shares its "owner" field, the
    /// viewer's records carry a "stage"; 500 of them overlap.
    /// </summary>
    private static async Task<Cell> PartneredAsync(EscrowApp app)
    {
        var owner = await app.SignupAsync("column-owner");
        var viewer = await app.SignupAsync("column-viewer");
        var theirs = await owner.CreatePopulationAsync("Customers");
        await owner.UploadOkAsync(theirs, Records.Range("o", 0, 900, "owner"));
        await owner.ShareAsync(theirs, "overlaps", "owner");
        var mine = await viewer.CreatePopulationAsync("Pipeline");
        await viewer.UploadOkAsync(mine, Records.Range("v", 400, 800, "stage"));
        return new Cell(viewer, owner, await viewer.PartnerAsync(owner), mine, theirs);
    }

    /// <summary>The viewer's matrix cell and whole list (in pages of 37, so cursors land inside blocks), as JSON text.</summary>
    private static async Task<(string Count, string List)> ReadAsync(EscrowApp app, Cell cell)
    {
        var http = app.CreateClient();
        http.DefaultRequestHeaders.Authorization = cell.Viewer.Http.DefaultRequestHeaders.Authorization;
        var viewer = new Org(cell.Viewer.Id, cell.Viewer.Slug, http, cell.Viewer.RefreshToken);
        var count = (await viewer.MatrixAsync(cell.PartnershipId)).Cell(cell.Mine, cell.Theirs)!["count"]!.ToJsonString();
        var list = new JsonArray([.. await viewer.ListAllAsync(cell.PartnershipId, cell.Mine, cell.Theirs, limit: 37)]).ToJsonString();
        return (count, list);
    }

    private long Count(string sql)
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(_dataDirectory, "escrow.db")};Pooling=False");
        db.Open();
        return db.ExecuteScalar<long>(sql);
    }

    private void Execute(string sql)
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(_dataDirectory, "escrow.db")};Pooling=False");
        db.Open();
        db.Execute(sql);
    }

    [Fact]
    public async Task AVersionStoredBeforeTheColumnsExistedIsReadFromItsSegmentsAndGetsItsColumnsThen()
    {
        Cell cell;
        (string Count, string List) before;
        // Snapshots stored with their segments, as every version was before the columns existed.
        using (var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:SnapshotSegments"] = "true" }, dataDirectory: _dataDirectory))
        {
            cell = await PartneredAsync(app);
            before = await ReadAsync(app, cell);
        }
        Assert.Equal("500", before.Count);
        Assert.Equal(500, JsonNode.Parse(before.List)!.AsArray().Count);
        Assert.Contains("o account 450", before.List);

        // The database as a version of the escrow before the columns wrote it: record segments only.
        Assert.True(Count("SELECT COUNT(*) FROM version_columns") > 0);
        Execute("DELETE FROM version_columns");

        using (var app = new EscrowApp(new Dictionary<string, string?>(), dataDirectory: _dataDirectory))
        {
            Assert.Equal(before, await ReadAsync(app, cell));
            // Header, token columns and record blocks of both versions (900 and 800 records, 256 a block: 4 blocks each).
            Assert.Equal(2, Count("SELECT COUNT(*) FROM version_columns WHERE part = 0"));
            Assert.Equal(8, Count($"SELECT COUNT(*) FROM version_columns WHERE part >= {64L << 32}"));
        }
    }

    [Fact]
    public async Task OnceItsColumnsAreStoredAVersionIsReadWithoutItsRecordSegments()
    {
        Cell cell;
        (string Count, string List) before;
        using (var app = new EscrowApp(new Dictionary<string, string?>(), dataDirectory: _dataDirectory))
        {
            cell = await PartneredAsync(app);
            before = await ReadAsync(app, cell);
        }

        // Segments that no longer open: a read that still went through them would fail.
        Execute("UPDATE segments SET data = randomblob(length(data))");

        using (var app = new EscrowApp(new Dictionary<string, string?>(), dataDirectory: _dataDirectory))
            Assert.Equal(before, await ReadAsync(app, cell));
    }

    [Fact]
    public async Task ADeltaIsMatchedAndListedFromItsOwnColumnsAfterARestart()
    {
        Cell cell;
        (string Count, string List) before;
        using (var app = new EscrowApp(new Dictionary<string, string?>(), dataDirectory: _dataDirectory))
        {
            cell = await PartneredAsync(app);
            // Removes 100 of the overlapping records and adds 50 more that overlap.
            var delta = string.Join('\n', Enumerable.Range(400, 100).Select(i => $$"""{"recordId":"o-{{i:D5}}","op":"delete"}"""))
                        + "\n" + Records.Range("o", 1100, 50, "owner");
            await cell.Owner.UploadOkAsync(cell.Theirs, delta, delta: true);
            before = await ReadAsync(app, cell);
        }
        Assert.Equal("450", before.Count);
        Assert.DoesNotContain("o account 450", before.List);
        Assert.Contains("o account 1110", before.List);

        Execute("UPDATE segments SET data = randomblob(length(data))");
        using (var app = new EscrowApp(new Dictionary<string, string?>(), dataDirectory: _dataDirectory))
            Assert.Equal(before, await ReadAsync(app, cell));
    }

    /// <summary>Every stored part with the nonce it was sealed with: a part written again (sealed anew) shows as a different nonce.</summary>
    private List<string> Parts()
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(_dataDirectory, "escrow.db")};Pooling=False");
        db.Open();
        return db.Query<string>("SELECT version_id || ':' || part || ':' || hex(nonce) FROM version_columns ORDER BY version_id, part").AsList();
    }

    [Fact]
    public async Task ASnapshotIsCommittedWithItsColumnsSoTheFirstOverlapAfterItWritesNone()
    {
        using var app = new EscrowApp(new Dictionary<string, string?>(), dataDirectory: _dataDirectory);
        var cell = await PartneredAsync(app);

        // Right after the two uploads answered, before any read: both versions have their header and record blocks
        // (900 and 800 records, 256 a block: 4 blocks each) and their token columns.
        var versions = Count("SELECT COUNT(*) FROM population_versions WHERE status = 'committed'");
        Assert.Equal(2, versions);
        Assert.Equal(2, Count("SELECT COUNT(*) FROM version_columns WHERE part = 0"));
        Assert.Equal(8, Count($"SELECT COUNT(*) FROM version_columns WHERE part >= {64L << 32}"));
        Assert.Equal(2, Count($"SELECT COUNT(DISTINCT version_id) FROM version_columns WHERE part > 0 AND part < {64L << 32}"));
        var before = Parts();

        var read = await ReadAsync(app, cell);

        Assert.Equal("500", read.Count);
        Assert.Equal(before, Parts()); // the overlap and the list read the parts and wrote none
    }

    [Fact]
    public async Task ASnapshotWhoseIdsTurnOutOfOrderAfterItsFirstBlocksWereStoredReadsExactlyAsTheSameRecordsInOrder()
    {
        Cell cell;
        (string Count, string List) inOrder;
        using (var app = new EscrowApp(new Dictionary<string, string?>(), dataDirectory: _dataDirectory))
        {
            cell = await PartneredAsync(app);
            inOrder = await ReadAsync(app, cell);
            // The same 900 records: in id order for three blocks and more (those blocks are stored as they fill), then one
            // that belongs in the first block, then the rest.
            var lines = Records.Range("o", 0, 900, "owner").Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
            var early = lines[5];
            lines.RemoveAt(5);
            lines.Insert(800, early);

            await cell.Owner.UploadOkAsync(cell.Theirs, string.Join('\n', lines));

            Assert.Equal(2, Count("SELECT COUNT(*) FROM population_versions WHERE status = 'committed'"));
            Assert.Equal(8, Count($"SELECT COUNT(*) FROM version_columns WHERE part >= {64L << 32}")); // 4 blocks each, none left over
            Assert.Equal(inOrder, await ReadAsync(app, cell));
        }
        // And after a restart, from the stored parts alone.
        Execute("UPDATE segments SET data = randomblob(length(data))");
        using (var app = new EscrowApp(new Dictionary<string, string?>(), dataDirectory: _dataDirectory))
            Assert.Equal(inOrder, await ReadAsync(app, cell));
    }

    [Fact]
    public async Task AnUploadWhoseCommitFailsLeavesNeitherItsVersionNorItsColumns()
    {
        using var app = new EscrowApp(new Dictionary<string, string?>(), dataDirectory: _dataDirectory);
        var org = await app.SignupAsync("failing-commit");
        var population = await org.CreatePopulationAsync("Customers");
        await org.UploadOkAsync(population, Records.Range("a", 0, 300));
        var before = Parts();
        // A fault after the columns are written and before the commit: the upload's audit event, the last write of its
        // transaction, is refused.
        Execute("""
            CREATE TRIGGER test_refuse_upload BEFORE INSERT ON audit_events WHEN NEW.action = 'population.uploaded'
            BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
            """);

        var response = await org.Http.UploadAsync(population, Records.Range("b", 0, 600));

        Assert.False(response.IsSuccessStatusCode);
        Assert.Equal(before, Parts());
        Assert.Equal(1, Count($"SELECT COUNT(*) FROM population_versions WHERE population_id = '{population}'"));
        Execute("DROP TRIGGER test_refuse_upload");
        Assert.Equal(300, JsonNode.Parse(await (await org.Http.GetAsync($"/v1/populations/{population}")).Content.ReadAsStringAsync())!["recordCount"]!.GetValue<long>());
    }
}
