using System.Net;
using System.Text;
using Dapper;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// A data-key rotation (<c>admin keys rotate-data</c>) while an upload streams in: the rotation re-seals the segments the
/// upload has already stored under the new key version. When the upload's ids then stop arriving in order, the duplicate
/// check reads those segments back; it must open them with the organization's keys as they are at that moment, not with
/// the cipher the upload began with (which knows only the old version: that answered 500 and lost the upload). Over a
/// real socket, so that the service holds half of the body while the rotation runs.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class UploadKeyRotationTests : IDisposable
{
    // Segments of 128 records: the first part's 1,000 rows are stored as several segments before the rotation starts.
    private readonly EscrowApp _app = new(new Dictionary<string, string?> { ["Escrow:Uploads:SegmentRecords"] = "128", ["Escrow:Uploads:SnapshotSegments"] = "true" }, kestrel: true);

    public void Dispose() => _app.Dispose();

    private const int FirstPart = 1000;
    private const int InOrder = 1500;

    private static string Id(int i) => $"M-{i:D5}";

    private static string Line(int i, string? id = null) => Records.Line(new Records.Account(id ?? Id(i), Domain: $"d{i}.example"));

    private const string PendingUnder =
        "SELECT COUNT(*) FROM segments s JOIN population_versions v ON v.id = s.version_id WHERE v.status = 'pending' AND s.key_version {0} 2";

    private const string PendingPartsUnder =
        "SELECT COUNT(*) FROM version_columns c JOIN population_versions v ON v.id = c.version_id WHERE v.status = 'pending' AND c.key_version {0} 2";

    /// <summary>
    /// Sends <paramref name="first"/>, waits until the service has stored segments of it, rotates the organization's data
    /// key as the admin command does and waits until every stored segment of the pending version is re-sealed under the new
    /// version, then sends <paramref name="rest"/>. Returns the response and the rotation's output once it has finished.
    /// </summary>
    /// <param name="blocksStored">Wait, before the rotation, until record blocks of the pending version's columns are stored too,
    /// and after it until they are re-sealed as well.</param>
    /// <param name="app">The app to upload to (this class's, with segments, unless given).</param>
    /// <param name="segmentsStored">Whether the snapshot is stored with segments (waited for and re-sealed) or as its columns only.</param>
    private async Task<(RawUpload.Result Sent, int RotationCode, string RotationOutput)> UploadAcrossARotationAsync(Org org, string population, string first, string rest,
        bool blocksStored = false, EscrowApp? app = null, bool segmentsStored = true)
    {
        app ??= _app;
        var rotationOutput = new StringWriter();
        Task<int>? rotation = null;
        var body = Encoding.UTF8.GetBytes(first + rest);
        var sent = await RawUpload.SendAsync(org.Http, $"/v1/populations/{population}/records", body, Encoding.UTF8.GetByteCount(first), between: async () =>
        {
            if (segmentsStored && !await WaitUntilAsync(app, string.Format(PendingUnder, "<>"), n => n > 0)) return false;
            if (blocksStored && !await WaitUntilAsync(app, string.Format(PendingPartsUnder, "<>"), n => n > 0)) return false;
            // The settling pause is skipped: the rotation still waits for this upload (begun before the new key) to end.
            rotation = Task.Run(() => Admin.AdminCommand.RunAsync(["keys", "rotate-data", "--organization", org.Id, "--settle", "0"],
                rotationOutput, rotationOutput, app.Settings));
            return (!segmentsStored || (await WaitUntilAsync(app, string.Format(PendingUnder, "="), n => n > 0)
                                        && await WaitUntilAsync(app, string.Format(PendingUnder, "<>"), n => n == 0)))
                && (!blocksStored || (await WaitUntilAsync(app, string.Format(PendingPartsUnder, "="), n => n > 0)
                                      && await WaitUntilAsync(app, string.Format(PendingPartsUnder, "<>"), n => n == 0)));
        });
        Assert.NotNull(rotation);
        var finished = await Task.WhenAny(rotation!, Task.Delay(TimeSpan.FromMinutes(2)));
        Assert.True(finished == rotation, "the rotation did not finish after the upload ended: " + rotationOutput);
        return (sent, await rotation!, rotationOutput.ToString());
    }

    [Fact]
    public async Task AnIdOutOfOrderAfterADataKeyRotationReSealedTheStoredSegmentsStillNamesTheDuplicatesFirstRowAndChangesNothing()
    {
        var org = await _app.SignupAsync("rotate-dup");
        var population = await org.CreatePopulationAsync("Customers");
        await org.UploadOkAsync(population, Records.Range("OLD", 0, 50));
        var before = (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["currentVersionId"]!.GetValue<string>();

        // Rows 1 … 1,500 in order (the first 1,000 before the rotation); row 1,501 breaks the order with a new id, rows
        // 1,502 and 1,503 repeat the ids of row 6 (a segment stored and re-sealed before the break) and row 1,201.
        var first = string.Concat(Enumerable.Range(0, FirstPart).Select(i => Line(i) + "\n"));
        var rest = string.Concat(Enumerable.Range(FirstPart, InOrder - FirstPart).Select(i => Line(i) + "\n"))
                   + Line(7000, "M-00001x") + "\n" + Line(9001, Id(5)) + "\n" + Line(9002, Id(1200)) + "\n";
        var (sent, code, output) = await UploadAcrossARotationAsync(org, population, first, rest);

        Assert.True(sent.BetweenResult, "the test did not catch the upload with segments stored under the new key");
        var response = RawHttp.Parse(sent.Response);
        Assert.True(response.Status == 422, response.ToString());
        Assert.Equal("application/problem+json", response.MediaType);
        var problem = response.Json;
        Assert.Equal(
            [(1502L, "recordId", "Duplicate recordId (first seen on row 6)."), (1503L, "recordId", "Duplicate recordId (first seen on row 1201).")],
            problem["errors"]!.AsArray().Select(e => (e!["row"]!.GetValue<long>(), e["field"]!.GetValue<string>(), e["message"]!.GetValue<string>())));
        Assert.Equal(1503, problem["rowsRead"]!.GetValue<long>());

        // Nothing applied, nothing left behind, and the rotation finished once the upload had ended.
        Assert.True(code == 0, output);
        Assert.Contains("destroyed 1 old keys", output);
        var after = await Json(await org.Http.GetAsync($"/v1/populations/{population}"));
        Assert.Equal(before, after["currentVersionId"]!.GetValue<string>());
        Assert.Equal(50, after["recordCount"]!.GetValue<long>());
        using var db = _app.OpenAnyDatabase();
        Assert.Equal(0L, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM population_versions WHERE status = 'pending'"));
        Assert.Equal(0L, await db.ExecuteScalarAsync<long>(OrganizationSegmentsUnder("<>"), new { organizationId = org.Id }));
        Assert.DoesNotContain(_app.Logs, l => l.Contains("   at ") || l.Contains("M-0000"));
    }

    [Fact]
    public async Task AnIdOutOfOrderAfterADataKeyRotationReSealedTheStoredSegmentsIsCommittedWithEveryRecord()
    {
        var org = await _app.SignupAsync("rotate-all");
        var partner = await _app.SignupAsync("rotate-all-partner");
        var population = await org.CreatePopulationAsync("Customers");
        var theirs = await partner.CreatePopulationAsync("Customers");
        await partner.ShareAsync(theirs, "overlaps");
        await partner.UploadOkAsync(theirs, Records.Range("P", 0, 8000));
        var partnership = await org.PartnerAsync(partner);

        // Rows 1 … 1,500 in order, then a new id out of order (d7000.example), then the last rows in order again.
        var first = string.Concat(Enumerable.Range(0, FirstPart).Select(i => Line(i) + "\n"));
        var rest = string.Concat(Enumerable.Range(FirstPart, InOrder - FirstPart).Select(i => Line(i) + "\n"))
                   + Line(7000, "M-00001x") + "\n" + Line(7001, "M-09000") + "\n";
        var (sent, code, output) = await UploadAcrossARotationAsync(org, population, first, rest);

        Assert.True(sent.BetweenResult, "the test did not catch the upload with segments stored under the new key");
        var response = RawHttp.Parse(sent.Response);
        Assert.True(response.Status == 200, response.ToString());
        var result = response.Json;
        Assert.Equal(InOrder + 2, result["recordsApplied"]!.GetValue<long>());
        Assert.Equal(0, result["rowsRejected"]!.GetValue<long>());
        Assert.True(code == 0, output);
        Assert.Contains("destroyed 1 old keys", output);

        // Every record is there and readable with the old key destroyed: the overlap with a partner that holds every
        // domain lists each of the upload's ids once.
        var expected = Enumerable.Range(0, InOrder).Select(i => Id(i)).Append("M-00001x").Append("M-09000").Order(StringComparer.Ordinal);
        var listed = await org.ListAllAsync(partnership, population, theirs, limit: 1000);
        Assert.Equal(expected, listed.Select(i => i["recordId"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        using var db = _app.OpenAnyDatabase();
        Assert.Equal(0L, await db.ExecuteScalarAsync<long>(OrganizationSegmentsUnder("<>"), new { organizationId = org.Id }));
    }

    /// <param name="segments">Whether the snapshot is stored with segments too (this class's app) or as its columns only
    /// (an app of its own, with the default): then the first id out of order takes the written ids back from the re-sealed blocks.</param>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnIdOutOfOrderAfterADataKeyRotationReSealedTheStoredRecordBlocksIsCommittedWithEveryRecord(bool segments)
    {
        using var own = segments ? null : new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:SnapshotSegments"] = "false" }, kestrel: true);
        var app = own ?? _app;
        var org = await app.SignupAsync("rotate-blocks");
        var partner = await app.SignupAsync("rotate-blocks-partner");
        var population = await org.CreatePopulationAsync("Customers");
        var theirs = await partner.CreatePopulationAsync("Customers");
        await partner.ShareAsync(theirs, "overlaps");
        await partner.UploadOkAsync(theirs, Records.Range("P", 0, 8000));
        var partnership = await org.PartnerAsync(partner);

        // The columns' record blocks (ids and attributes) are stored a few MiB at a time while the ids arrive in order:
        // 6,000 rows of about 1 KB of attributes each are stored in part before the rotation. The first id out of order
        // then brings the stored blocks back, to build them anew with every record.
        var attributes = Enumerable.Range(0, 4).ToDictionary(a => $"note{a}", a => new string((char)('a' + a), 250));
        string Wide(int i, string? id = null) => Records.Line(new Records.Account(id ?? Id(i), Domain: $"d{i}.example", Attributes: attributes)) + "\n";
        var first = string.Concat(Enumerable.Range(0, 6000).Select(i => Wide(i)));
        var rest = string.Concat(Enumerable.Range(6000, 500).Select(i => Wide(i))) + Wide(7000, "M-00001x");
        var (sent, code, output) = await UploadAcrossARotationAsync(org, population, first, rest, blocksStored: true, app, segmentsStored: segments);

        Assert.True(sent.BetweenResult, "the test did not catch the upload with segments and record blocks stored under the new key");
        var response = RawHttp.Parse(sent.Response);
        Assert.True(response.Status == 200, response.ToString());
        Assert.Equal(6501, response.Json["recordsApplied"]!.GetValue<long>());
        Assert.True(code == 0, output);
        Assert.Contains("destroyed 1 old keys", output);

        var expected = Enumerable.Range(0, 6500).Select(i => Id(i)).Append("M-00001x").Order(StringComparer.Ordinal);
        var listed = await org.ListAllAsync(partnership, population, theirs, limit: 1000);
        Assert.Equal(expected, listed.Select(i => i["recordId"]!.GetValue<string>()).Order(StringComparer.Ordinal));
    }

    private static string OrganizationSegmentsUnder(string comparison) =>
        "SELECT COUNT(*) FROM segments s JOIN population_versions v ON v.id = s.version_id JOIN populations p ON p.id = v.population_id " +
        $"WHERE p.organization_id = @organizationId AND s.key_version {comparison} 2";

    private static async Task<bool> WaitUntilAsync(EscrowApp app, string countQuery, Func<long, bool> holds)
    {
        using var db = app.OpenAnyDatabase();
        for (var i = 0; i < 500; i++)
        {
            if (holds(await db.ExecuteScalarAsync<long>(countQuery))) return true;
            await Task.Delay(20);
        }
        return false;
    }
}
