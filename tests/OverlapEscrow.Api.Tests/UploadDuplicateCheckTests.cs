using Microsoft.Extensions.DependencyInjection;
using System.Net;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The duplicate check keeps nothing of an id written to the segments while the ids arrive in increasing order; the first
/// id out of order reads the written ones back from the stored segments and the records not sealed yet. Whatever the order,
/// the rows' numbering (gaps left by refused rows included) and where the first row sits, a duplicate names its first row,
/// and an upload with one changes nothing under reject.
/// </summary>
[Trait("AlsoOn", "postgres")]
public class UploadDuplicateCheckTests : IDisposable
{
    // Segments of 128 records: 500 written rows are 3 stored segments and 116 records not sealed yet.
    private readonly EscrowApp _app;

    public UploadDuplicateCheckTests() : this(snapshotSegments: true) { }

    protected UploadDuplicateCheckTests(bool snapshotSegments) => _app = new(new Dictionary<string, string?>
    {
        ["Escrow:Uploads:SegmentRecords"] = "128", ["Escrow:Uploads:SnapshotSegments"] = snapshotSegments ? "true" : "false",
    });

    public void Dispose() => _app.Dispose();

    private static string Id(int i) => $"M-{i:D5}";

    private static string Line(int i, string? id = null) => Records.Line(new Records.Account(id ?? Id(i), Domain: $"d{i}.example"));

    private const string BadHex = """{"recordId":"M-bad","identifiers":{"domain":"zz"}}""";

    /// <summary>Rows 1 … <paramref name="count"/> with ids M-00000 … in order, some replaced (1-based rows), then <paramref name="after"/>.</summary>
    private static string Body(int count, Dictionary<int, string>? replace = null, params string[] after)
    {
        var lines = Enumerable.Range(0, count).Select(i => Line(i)).ToArray();
        foreach (var (row, line) in replace ?? []) lines[row - 1] = line;
        return string.Join('\n', lines.Concat(after)) + "\n";
    }

    private static List<(long Row, string? Field, string Message)> Errors(System.Text.Json.Nodes.JsonObject body) =>
        body["errors"]!.AsArray().Select(e => (e!["row"]!.GetValue<long>(), e["field"]?.GetValue<string>(), e["message"]!.GetValue<string>())).ToList();

    private async Task<(Org Org, string Population)> PopulationAsync(string name)
    {
        var org = await _app.SignupAsync(name);
        return (org, await org.CreatePopulationAsync("Customers"));
    }

    [Fact]
    public async Task AnIdOutOfOrderThatRepeatsAnEarlierOneNamesItsFirstRowInAStoredSegmentOrNotYetSealed()
    {
        var (org, population) = await PopulationAsync("dup-where");
        await org.UploadOkAsync(population, Body(3));
        var before = (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["currentVersionId"]!.GetValue<string>();

        // Row 501 breaks the order (a new id, smaller than the last), then each duplicate's first row sits in the first stored
        // segment (row 6), the third (row 300), and among the records not sealed when the order broke (row 499).
        var problem = await ExpectProblem(await org.Http.UploadAsync(population,
            Body(500, null, Line(7000, "M-00001x"), Line(9001, Id(5)), Line(9002, Id(299)), Line(9003, Id(498)), Line(9004, "M-00001x"))),
            HttpStatusCode.UnprocessableEntity);

        Assert.Equal(
            [(502L, "recordId", "Duplicate recordId (first seen on row 6)."), (503L, "recordId", "Duplicate recordId (first seen on row 300)."),
             (504L, "recordId", "Duplicate recordId (first seen on row 499)."), (505L, "recordId", "Duplicate recordId (first seen on row 501).")],
            Errors(problem));
        Assert.Equal(505, problem["rowsRead"]!.GetValue<long>());
        var after = await Json(await org.Http.GetAsync($"/v1/populations/{population}"));
        Assert.Equal(before, after["currentVersionId"]!.GetValue<string>());
        Assert.Equal(3, after["recordCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task AnOrderBreakAfterMoreSegmentsThanOneReadBackHoldsStillFindsDuplicatesInEverySegment()
    {
        var (org, population) = await PopulationAsync("dup-pages");

        // 2,700 rows in order are 21 stored segments of 128 (read back 8 at a time) and 12 records not sealed; then the
        // order breaks, and the duplicates' first rows sit in the first page of segments, the second, the third, and unsealed.
        var problem = await ExpectProblem(await org.Http.UploadAsync(population,
            Body(2700, null, Line(7000, "M-00001x"), Line(9001, Id(1)), Line(9002, Id(1499)), Line(9003, Id(2599)), Line(9004, Id(2694)))),
            HttpStatusCode.UnprocessableEntity);

        Assert.Equal(
            [(2702L, "recordId", "Duplicate recordId (first seen on row 2)."), (2703L, "recordId", "Duplicate recordId (first seen on row 1500)."),
             (2704L, "recordId", "Duplicate recordId (first seen on row 2600)."), (2705L, "recordId", "Duplicate recordId (first seen on row 2695).")],
            Errors(problem));
        Assert.Null((await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["currentVersionId"]?.GetValue<string>());
    }

    [Fact]
    public async Task UnderSkipADuplicateAfterTheOrderBreaksNamesItsFirstRowAcrossTheGapsOfSkippedRows()
    {
        var (org, population) = await PopulationAsync("dup-gaps");
        // Rows 10, 11 and 200 are refused (bad hex) and skipped: the written rows' numbers jump there.
        var response = await org.Http.UploadAsync(population,
            Body(400, new() { [10] = BadHex, [11] = BadHex, [200] = BadHex }, Line(9001, Id(3)), Line(9002, Id(11)), Line(9003, Id(200)), Line(9004, Id(399))),
            query: "?onError=skip");
        await Expect(response, HttpStatusCode.OK);
        var result = await Json(response);

        Assert.Equal(
            [(10L, "identifiers.domain"), (11L, "identifiers.domain"), (200L, "identifiers.domain"),
             (401L, "recordId"), (402L, "recordId"), (403L, "recordId"), (404L, "recordId")],
            Errors(result).Select(e => (e.Row, e.Field)));
        Assert.Equal(
            ["first seen on row 4", "first seen on row 12", "first seen on row 201", "first seen on row 400"],
            Errors(result).Skip(3).Select(e => e.Message[(e.Message.IndexOf('(') + 1)..e.Message.IndexOf(')')]));
        Assert.Equal(397, result["recordsApplied"]!.GetValue<long>());
        Assert.Equal(397, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task UnderSkipASortedUploadWhoseFirstIdOutOfOrderIsADuplicateKeepsEveryRecordAndALaterOrderBreakStillFindsEveryEarlierId()
    {
        var (org, population) = await PopulationAsync("dup-sorted-skip");
        // 600 rows in order: two full record blocks of 256 stored (four segments of 128 where segments are stored) and 88
        // records not stored yet. Row 601 repeats row 6: the first id out of order, refused, so the records written so far
        // stay as they are and the rest still arrive in order; row 602 follows in order; row 603 breaks the order with a new id
        // (every record is then kept for the sort by id); rows 604 to 606 repeat rows 602, 300 (a stored block) and 551 (not
        // stored when the order first broke).
        var response = await org.Http.UploadAsync(population,
            Body(600, null, Line(9001, Id(5)), Line(700), Line(7000, "M-00001x"), Line(9004, Id(700)), Line(9005, Id(299)), Line(9006, Id(550))),
            query: "?onError=skip");
        await Expect(response, HttpStatusCode.OK);
        var result = await Json(response);

        Assert.Equal(
            [(601L, "first seen on row 6"), (604L, "first seen on row 602"), (605L, "first seen on row 300"), (606L, "first seen on row 551")],
            Errors(result).Select(e => (e.Row, e.Message[(e.Message.IndexOf('(') + 1)..e.Message.IndexOf(')')])));
        Assert.Equal(602, result["recordsApplied"]!.GetValue<long>());
        // The version holds exactly the records accepted, each once with its own domain: read back from what was stored.
        var version = await _app.Services.GetRequiredService<OverlapEscrow.Application.Overlaps.VersionStore>()
            .MaterializeAsync(org.Id, result["versionId"]!.GetValue<string>(), CancellationToken.None);
        string[] expected = [.. Enumerable.Range(0, 600).Select(i => Id(i)), Id(700), "M-00001x"];
        Assert.Equal(expected.Order(StringComparer.Ordinal), version.Records.Select(r => r.RecordId));
        Assert.Equal(602, version.Records.Select(r => r.Tokens.Single(t => t.Type == OverlapEscrow.Domain.Records.IdentifierType.Domain).Token).Distinct().Count());
    }

    [Fact]
    public async Task UnderRejectADuplicateOfARowAfterTheFirstErrorNamesThatRowThoughNothingWasWrittenOfIt()
    {
        var (org, population) = await PopulationAsync("dup-reject");
        // Row 2 is refused: under reject nothing after it is written, yet every row is still checked.
        var problem = await ExpectProblem(await org.Http.UploadAsync(population,
            Body(300, new() { [2] = BadHex }, Line(9001, Id(0)), Line(9002, Id(249)), Line(9003, Id(2)))),
            HttpStatusCode.UnprocessableEntity);

        Assert.Equal(
            [(2L, "identifiers.domain", null), (301L, "recordId", "first seen on row 1"), (302L, "recordId", "first seen on row 250"),
             (303L, "recordId", "first seen on row 3")],
            Errors(problem).Select(e => (e.Row, e.Field, e.Field == "recordId" ? e.Message[(e.Message.IndexOf('(') + 1)..e.Message.IndexOf(')')] : null)));
        Assert.Null((await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["currentVersionId"]);
    }

    [Fact]
    public async Task ADeltaWhoseIdsStopArrivingInOrderNamesTheFirstRowOfADuplicateDeletionOrRecord()
    {
        var (org, population) = await PopulationAsync("dup-delta");
        await org.UploadOkAsync(population, Body(200));
        var deletion = """{"recordId":"M-00150","op":"delete"}""";
        var response = await org.Http.UploadAsync(population,
            Body(300, new() { [151] = deletion }, Line(9001, Id(150)), deletion, Line(9003, Id(7))), delta: true, query: "?onError=skip");
        await Expect(response, HttpStatusCode.OK);
        var result = await Json(response);

        Assert.Equal(
            [(301L, "first seen on row 151"), (302L, "first seen on row 151"), (303L, "first seen on row 8")],
            Errors(result).Select(e => (e.Row, e.Message[(e.Message.IndexOf('(') + 1)..e.Message.IndexOf(')')])));
        Assert.Equal(300, result["recordsApplied"]!.GetValue<long>());
        Assert.Equal(299, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task ASnapshotInRandomOrderWithoutDuplicatesIsAppliedWhole()
    {
        var (org, population) = await PopulationAsync("dup-shuffled");
        var lines = Enumerable.Range(0, 700).Select(i => Line(i)).OrderBy(l => l.GetHashCode()).ToList();
        var result = await org.UploadOkAsync(population, string.Join('\n', lines) + "\n");

        Assert.Equal(700, result["recordsApplied"]!.GetValue<long>());
        Assert.Equal(0, result["rowsRejected"]!.GetValue<long>());
        Assert.Equal(700, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
    }
}

/// <summary>
/// The same checks for snapshots stored without segments (<c>Uploads:SnapshotSegments</c> false): the first id out of order
/// takes the written records back from the stored record blocks and the blocks not stored yet, in the order written.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class UploadDuplicateCheckWithoutSnapshotSegmentsTests() : UploadDuplicateCheckTests(snapshotSegments: false);
