using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The upload's store stage (segments and column parts stored on a stage of their own, docs/architecture.md): a version
/// swept away while the store stage stores its segments, a client that drops the connection while a store is in flight,
/// and the stage-times diagnostic (Escrow:Uploads:LogStageTimes), which must not change what an upload does nor log
/// partner data.
/// </summary>
public sealed class UploadStoreStageTests
{
    private const string PendingSegments =
        "SELECT COUNT(*) FROM segments s JOIN population_versions v ON v.id = s.version_id WHERE v.status = 'pending'";

    private static byte[] Gzip(byte[] raw)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(raw);
        return compressed.ToArray();
    }

    [Fact]
    public async Task AGzipUploadIsCommittedWhileStageTimesAreLogged()
    {
        using var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:LogStageTimes"] = "true" });
        var org = await app.SignupAsync("gzip-times");
        var population = await org.CreatePopulationAsync("Customers");
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/populations/{population}/records")
        {
            Content = new ByteArrayContent(Gzip(Encoding.UTF8.GetBytes(Records.Range("G", 0, 1000)))),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        request.Content.Headers.ContentEncoding.Add("gzip");

        var response = await org.Http.SendAsync(request);

        // With the diagnostic on, the body is read through a timing wrapper; the gzip trailer check must still find the
        // decompressed stream's position (it once cast the wrapper and answered 500).
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1000, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task TheStageTimesOfACsvUploadHaveNoNegativeFigure()
    {
        using var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:LogStageTimes"] = "true" });
        var org = await app.SignupAsync("csv-times");
        var population = await org.CreatePopulationAsync("Customers");
        var accounts = Enumerable.Range(0, 20_000).Select(i => new Records.Account($"C-{i:D6}", Domain: $"c{i}.example")).ToList();
        await Expect(await org.Http.UploadAsync(population, Records.Csv(accounts), "text/csv"), HttpStatusCode.OK);

        var line = Assert.Single(app.Logs, l => l.Contains("Upload stages of"));
        Assert.DoesNotMatch(@"[a-z] -\d", line);
    }

    [Fact]
    public async Task TheStageTimesLogLineNamesNoRecordIdDomainOrAttributeAndNoStackTrace()
    {
        using var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:LogStageTimes"] = "true", ["Escrow:Uploads:SegmentRecords"] = "128", ["Escrow:Uploads:SnapshotSegments"] = "true" });
        var org = await app.SignupAsync("times-logs");
        var population = await org.CreatePopulationAsync("Customers");
        await org.UploadOkAsync(population, Records.Range("SECRETID", 0, 2000, "accountName"));

        var stageLines = app.Logs.Where(l => l.Contains("Upload stages of")).ToList();
        Assert.Single(stageLines);
        var logs = string.Join('\n', app.Logs);
        foreach (var forbidden in new[] { "SECRETID", "d17.example", "SECRETID account", "   at " })
            Assert.DoesNotContain(forbidden, logs);
    }

    [Fact]
    public async Task AnUploadWhoseVersionIsSweptWhileTheStoreStageStoresItsSegmentsIsRefusedAndLeavesNothingBehind()
    {
        using var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:SegmentRecords"] = "128", ["Escrow:Uploads:SnapshotSegments"] = "true" }, kestrel: true);
        var org = await app.SignupAsync("swept");
        var population = await org.CreatePopulationAsync("Customers");
        await org.UploadOkAsync(population, Records.Range("OLD", 0, 50));
        var body = Encoding.UTF8.GetBytes(Records.Range("S", 0, 3000));

        var sent = await RawUpload.SendAsync(org.Http, $"/v1/populations/{population}/records", body, body.Length / 3, between: async () =>
        {
            if (!await WaitUntilAsync(app.DatabasePath, PendingSegments)) return false;
            // What the sweeper does to a pending version it takes for abandoned (its segments and parts go with it).
            using var db = Open(app.DatabasePath);
            db.Execute("PRAGMA foreign_keys = ON");
            return db.Execute("DELETE FROM population_versions WHERE status = 'pending'") == 1;
        });

        Assert.True(sent.BetweenResult, "the test did not catch the upload in flight");
        Assert.StartsWith("HTTP/1.1 409", sent.Response);
        Assert.Contains("applied nothing", sent.Response);
        Assert.DoesNotContain("   at ", sent.Response);
        using var check = Open(app.DatabasePath);
        Assert.Equal(0L, check.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE status = 'pending'"));
        Assert.Equal(0L, check.ExecuteScalar<long>("SELECT COUNT(*) FROM segments s JOIN population_versions v ON v.id = s.version_id WHERE v.status <> 'committed'"));
        Assert.Equal(0L, check.ExecuteScalar<long>("SELECT COUNT(*) FROM segments WHERE version_id NOT IN (SELECT id FROM population_versions)"));
        Assert.Equal(0L, check.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id NOT IN (SELECT id FROM population_versions WHERE status = 'committed')"));
        Assert.Equal(50, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
        Assert.DoesNotContain(app.Logs, l => l.Contains("   at ") || l.Contains("S-0000"));
    }

    [Fact]
    public async Task AClientThatDropsTheConnectionWhileSegmentsAreBeingStoredLeavesNoPendingVersionSegmentOrPart()
    {
        using var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:SegmentRecords"] = "128", ["Escrow:Uploads:SnapshotSegments"] = "true" }, kestrel: true);
        var org = await app.SignupAsync("dropped");
        var population = await org.CreatePopulationAsync("Customers");
        await org.UploadOkAsync(population, Records.Range("OLD", 0, 50));
        var body = Encoding.UTF8.GetBytes(Records.Range("D", 0, 6000));

        var sent = await RawUpload.SendAsync(org.Http, $"/v1/populations/{population}/records", body, body.Length * 2 / 3,
            between: () => WaitUntilAsync(app.DatabasePath, PendingSegments), abortAfterFirstPart: true);

        Assert.True(sent.BetweenResult, "the test did not catch the upload in flight");
        Assert.True(await WaitUntilAsync(app.DatabasePath,
            "SELECT CASE WHEN (SELECT COUNT(*) FROM population_versions WHERE status = 'pending') = 0 AND (SELECT COUNT(*) FROM segments) = (SELECT COUNT(*) FROM segments s JOIN population_versions v ON v.id = s.version_id WHERE v.status = 'committed') THEN 1 ELSE 0 END"),
            "the dropped upload left a pending version or its segments behind");
        using var check = Open(app.DatabasePath);
        Assert.Equal(0L, check.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id NOT IN (SELECT id FROM population_versions WHERE status = 'committed')"));
        Assert.Equal(50, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
    }

    private static SqliteConnection Open(string databasePath)
    {
        var connection = new SqliteConnection($"Data Source={databasePath};Pooling=False;Default Timeout=30");
        connection.Open();
        return connection;
    }

    private static async Task<bool> WaitUntilAsync(string databasePath, string countQuery)
    {
        using var db = Open(databasePath);
        for (var i = 0; i < 250; i++)
        {
            if (db.ExecuteScalar<long>(countQuery) > 0) return true;
            await Task.Delay(20);
        }
        return false;
    }
}
