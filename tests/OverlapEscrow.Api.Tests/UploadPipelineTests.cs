using System.Net;
using Dapper;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Uploads re-key batches of rows on every core at once, while duplicates, the error policy and the writing follow the
/// rows' order: an upload of many batches answers exactly as one row at a time would.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class UploadPipelineTests : IAsyncLifetime
{
    private const int Rows = 5000; // about twenty batches of rows
    private readonly EscrowApp _app = new();
    private Org _org = null!, _probe = null!;
    private string _population = "", _probes = "";

    public async Task InitializeAsync()
    {
        _org = await _app.SignupAsync("pipeline");
        _probe = await _app.SignupAsync("pipeline-probe");
        _population = await _org.CreatePopulationAsync("Customers");
        _probes = await _probe.CreatePopulationAsync("Probes");
        await _org.ShareAsync(_population, "overlaps", "accountName");
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Rows M-00000 … with domains d0.example …; <paramref name="replace"/> swaps some (1-based row numbers) for others.</summary>
    private static string Body(Dictionary<int, string> replace)
    {
        var lines = Records.Range("M", 0, Rows, "accountName").TrimEnd('\n').Split('\n');
        foreach (var (row, line) in replace) lines[row - 1] = line;
        return string.Join('\n', lines) + "\n";
    }

    private static readonly Dictionary<int, string> Faults = new()
    {
        [900] = Records.Line(new Records.Account("M-00002", Domain: "dup-a.example")),      // same id as row 3
        [2600] = """{"recordId":"M-bad-hex","identifiers":{"domain":"zz"}}""",
        [3700] = Records.Line(new Records.Account("M-00899", Domain: "dup-b.example")),     // row 900's id before it was replaced: not a duplicate
        [4100] = """{"recordId":"M-deleted","op":"delete"}""",                              // a deletion in a snapshot
        [4999] = Records.Line(new Records.Account("M-04099", Domain: "dup-c.example")),     // row 4100's id before it was replaced: not a duplicate
    };

    [Fact]
    public async Task RowErrorsOfAManyBatchUploadAreReportedInRowOrderWithTheirFirstRows()
    {
        var problem = await ExpectProblem(await _org.Http.UploadAsync(_population, Body(Faults)), HttpStatusCode.UnprocessableEntity);

        var errors = problem["errors"]!.AsArray().Select(e => (Row: e!["row"]!.GetValue<long>(), Field: e["field"]?.GetValue<string>(), Message: e["message"]!.GetValue<string>())).ToList();
        Assert.Equal([900L, 2600L, 4100L], errors.Select(e => e.Row));
        Assert.Equal(["recordId", "identifiers.domain", "op"], errors.Select(e => e.Field));
        Assert.Contains("first seen on row 3", errors[0].Message);
        Assert.Equal(Rows, problem["rowsRead"]!.GetValue<long>());
        Assert.Null((await Json(await _org.Http.GetAsync($"/v1/populations/{_population}")))["currentVersionId"]);
    }

    [Fact]
    public async Task UnderSkipEveryGoodRowOfAManyBatchUploadIsAppliedWithTheTokensOneRowAtATimeGives()
    {
        var response = await _org.Http.UploadAsync(_population, Body(Faults), query: "?onError=skip");
        await Expect(response, HttpStatusCode.OK);
        var result = await Json(response);
        Assert.Equal(Rows - 3, result["recordsApplied"]!.GetValue<long>());
        Assert.Equal(3, result["rowsRejected"]!.GetValue<long>());

        // A partner holding every domain of the upload (and those of the replaced rows) matches exactly the applied rows,
        // so every applied row was re-keyed under the escrow's token key, whichever thread keyed it.
        var domains = Enumerable.Range(0, Rows).Select(i => new Records.Account($"P-{i:D5}", Domain: $"d{i}.example"))
            .Concat(new[] { "dup-a", "dup-b", "dup-c" }.Select(d => new Records.Account("P-" + d, Domain: d + ".example")));
        await _probe.UploadOkAsync(_probes, Records.Ndjson(domains));
        var partnership = await _probe.PartnerAsync(_org);
        var matched = (await _probe.ListAllAsync(partnership, _probes, _population, limit: 1000))
            .Select(i => i["recordId"]!.GetValue<string>()).ToHashSet();
        var expected = Enumerable.Range(0, Rows).Where(i => i + 1 is not (900 or 2600 or 4100 or 3700 or 4999)).Select(i => $"P-{i:D5}")
            .Concat(["P-dup-b", "P-dup-c"]).ToHashSet();
        Assert.Equal(expected.Order(), matched.Order());
    }

    /// <summary>An app whose segments hold 128 records: the 5,000 rows make 40 of them, grouped into transactions while the store stage is busy.</summary>
    private static EscrowApp SmallSegments() => new(new Dictionary<string, string?> { ["Escrow:Uploads:SegmentRecords"] = "128", ["Escrow:Uploads:SnapshotSegments"] = "true" });

    [Fact]
    public async Task AnUploadOfManySmallSegmentsStoresEachRecordOnceInSegmentsNumberedWithoutGaps()
    {
        using var app = SmallSegments();
        var org = await app.SignupAsync("segments");
        var population = await org.CreatePopulationAsync("Customers");
        var response = await org.Http.UploadAsync(population, Body([]));
        await Expect(response, HttpStatusCode.OK);
        var version = (await Json(response))["versionId"]!.GetValue<string>();

        using var db = app.OpenAnyDatabase();
        var segments = db.Query<(long Seq, long Records)>(
            "SELECT CAST(seq AS BIGINT), CAST(record_count AS BIGINT) FROM segments WHERE version_id = @version ORDER BY seq", new { version }).ToList();
        Assert.Equal(Enumerable.Range(0, (Rows + 127) / 128).Select(i => (long)i), segments.Select(g => g.Seq));
        Assert.All(segments.SkipLast(1), g => Assert.Equal(128L, g.Records));
        Assert.Equal(Rows, segments.Sum(g => g.Records));
        var counts = db.QuerySingle<(long Segments, long Changes)>(
            "SELECT CAST(segment_count AS BIGINT), CAST(change_count AS BIGINT) FROM population_versions WHERE id = @version", new { version });
        Assert.Equal((segments.Count, Rows), ((int)counts.Segments, (int)counts.Changes));
        Assert.Equal(Rows, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task AManySegmentUploadRefusedAtItsLastRowLeavesNoVersionSegmentOrColumnPartBehind()
    {
        using var app = SmallSegments();
        var org = await app.SignupAsync("refused");
        var population = await org.CreatePopulationAsync("Customers");
        // Every row before the last is good, so under reject the segments of 4,999 records are sealed and stored before the error.
        var problem = await ExpectProblem(await org.Http.UploadAsync(population, Body(new() { [Rows] = """{"recordId":"M-bad-hex","identifiers":{"domain":"zz"}}""" })),
            HttpStatusCode.UnprocessableEntity);
        Assert.Equal(Rows, problem["rowsRead"]!.GetValue<long>());

        using var db = app.OpenAnyDatabase();
        Assert.Equal(0L, db.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions"));
        Assert.Equal(0L, db.ExecuteScalar<long>("SELECT COUNT(*) FROM segments"));
        Assert.Equal(0L, db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns"));
    }
}
