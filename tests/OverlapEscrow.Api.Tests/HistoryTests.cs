using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Overlaps;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Overlap history and "new since": alpha's Customers against beta's Customers (ten accounts, d1 … d10, with a name
/// and a stage each) and beta's Pipeline (the same accounts, never shared).
/// </summary>
public sealed class HistoryTests : IAsyncLifetime
{
    private readonly EscrowApp _app = new() { RandomSeed = 17 };
    private Org _alpha = null!, _beta = null!;
    private string _mine = "", _theirs = "", _pipeline = "", _partnership = "";

    public async Task InitializeAsync()
    {
        _alpha = await _app.SignupAsync("hist-alpha");
        _beta = await _app.SignupAsync("hist-beta");
        _mine = await _alpha.CreatePopulationAsync("Customers");
        _theirs = await _beta.CreatePopulationAsync("Customers");
        _pipeline = await _beta.CreatePopulationAsync("Pipeline", "opportunities");
        foreach (var population in new[] { _theirs, _pipeline })
            await _beta.UploadOkAsync(population, Records.Ndjson(Enumerable.Range(1, 10).Select(i => new Records.Account($"B-{i}", Domain: $"d{i}.example",
                Attributes: new() { ["accountName"] = $"Beta name {i}", ["stage"] = $"Beta stage {i}" }))));
        _partnership = await _alpha.PartnerAsync(_beta);
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Alpha's records A-{i} on the accounts d{i}, for the given i.</summary>
    private static string Accounts(params int[] numbers) =>
        Records.Ndjson(numbers.Select(i => new Records.Account($"A-{i:D2}", Domain: $"d{i}.example", Attributes: new() { ["owner"] = "ana" })));

    private async Task UploadAsync(string body, bool delta = false)
    {
        await _alpha.UploadOkAsync(_mine, body, delta);
        await _app.RefreshedAsync();
    }

    private async Task<JsonObject> HistoryAsync(Org org, string? query = null)
    {
        var response = await org.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/history{query}");
        await Expect(response, HttpStatusCode.OK);
        return await Json(response);
    }

    private static JsonObject? CellOf(JsonObject history, string mine, string theirs) =>
        history["cells"]!.AsArray().FirstOrDefault(c => c!["myPopulationId"]!.GetValue<string>() == mine && c["partnerPopulationId"]!.GetValue<string>() == theirs)?.AsObject();

    private static List<int?> Counts(JsonObject cell) => cell["points"]!.AsArray().Select(p => p!["count"]?.GetValue<int>()).ToList();

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private string NewUrl(string mine, string theirs, DateTimeOffset since, string? extra = null) =>
        $"/v1/partnerships/{_partnership}/overlaps/{mine}/{theirs}/new?since={Iso(since)}{extra}";

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task EachChangeOfAnOverlapAddsAHistoryPointAndAnUnchangedUploadAddsNone()
    {
        await _beta.ShareAsync(_theirs, "overlaps", "stage");
        await UploadAsync(Accounts(1, 2, 3));
        await UploadAsync(Accounts(4, 5, 11), delta: true);
        await UploadAsync(Accounts(1, 2, 3, 4, 5, 11)); // the same records again: the overlap did not change

        var history = await HistoryAsync(_alpha);
        var cell = CellOf(history, _mine, _theirs)!;
        Assert.Equal("overlaps", cell["level"]!.GetValue<string>());
        Assert.Equal([3, 5], Counts(cell));
        var times = cell["points"]!.AsArray().Select(p => p!["at"]!.GetValue<DateTimeOffset>()).ToList();
        Assert.True(times[0] <= times[1]);
        Assert.Null(CellOf(history, _mine, _pipeline)); // hidden: not even an empty trend

        // Beta's side: alpha shares nothing, so beta has no cell, and beta sees that alpha read the history.
        Assert.Empty((await HistoryAsync(_beta))["cells"]!.AsArray());
        var betaLog = await Json(await _beta.Http.GetAsync("/v1/audit?limit=1000"));
        var read = betaLog["items"]!.AsArray().Single(e => e!["action"]!.GetValue<string>() == "overlaps.history_read" && !e["byMyOrganization"]!.GetValue<bool>())!;
        Assert.Equal(_partnership, read["partnershipId"]!.GetValue<string>());
        Assert.DoesNotContain(_mine, read.ToJsonString());

        // A range that starts after the first point still starts with the value in force then.
        var later = await HistoryAsync(_alpha, $"?from={Iso(times[1].AddMilliseconds(1))}");
        Assert.Equal([5], Counts(CellOf(later, _mine, _theirs)!));
    }

    [Fact]
    public async Task ACellWhoseDataNoKeyOpensDoesNotStopTheRefreshOfThePartnershipsOtherCells()
    {
        await _beta.ShareAsync(_theirs, "overlaps");
        await _beta.ShareAsync(_pipeline, "overlaps");
        await UploadAsync(Accounts(1, 2, 3));
        var before = await HistoryAsync(_alpha);
        Assert.Equal([3], Counts(CellOf(before, _mine, _theirs)!));
        Assert.Equal([3], Counts(CellOf(before, _mine, _pipeline)!));

        // Beta's pipeline as a database restored from before a finished data-key rotation holds it: ciphertext no key the
        // escrow has opens (AES-GCM refuses these altered bytes as it refuses a destroyed key's), nothing of it in memory.
        using (var db = _app.OpenDatabase())
        {
            var version = db.ExecuteScalar<string>("SELECT current_version_id FROM populations WHERE id = @_pipeline", new { _pipeline })!;
            Assert.True(db.Execute("UPDATE version_columns SET data = randomblob(length(data)) WHERE version_id = @version", new { version }) > 0);
            _app.Services.GetRequiredService<PopulationDataCache>().Forget([version]);
        }

        await UploadAsync(Accounts(1, 2, 3, 4, 5));

        var after = await HistoryAsync(_alpha);
        Assert.Equal([3, 5], Counts(CellOf(after, _mine, _theirs)!)); // the readable cell's change is recorded
        Assert.Equal([3], Counts(CellOf(after, _mine, _pipeline)!)); // the unreadable one records nothing new
        Assert.Contains(_app.Logs, l => l.Contains("skipped the cell", StringComparison.Ordinal) && l.Contains(_pipeline, StringComparison.Ordinal));
        Assert.DoesNotContain(_app.Logs, l => l.Contains("Overlap refresh for", StringComparison.Ordinal) && l.Contains("failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACellThatBecomesHiddenDisappearsFromHistoryAndItsPointsAreDeleted()
    {
        await _beta.ShareAsync(_theirs, "overlaps");
        await UploadAsync(Accounts(1, 2, 3));
        Assert.NotNull(CellOf(await HistoryAsync(_alpha), _mine, _theirs));

        await _beta.ShareAsync(_theirs, "hidden");
        var body = await (await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/history")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(_theirs, body);
        Assert.DoesNotContain(_pipeline, body);

        using var db = _app.OpenDatabase();
        using var count = db.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM overlap_history WHERE partner_population_id = $p";
        count.Parameters.AddWithValue("$p", _theirs);
        // Deleted by the rule change itself, not left to the background refresher.
        Assert.Equal(0L, (long)count.ExecuteScalar()!);
        await _app.RefreshedAsync();
        Assert.Equal(0L, (long)count.ExecuteScalar()!);

        // Shared again, the cell starts a new history from what overlaps now.
        await _beta.ShareAsync(_theirs, "overlaps");
        await _app.RefreshedAsync();
        var cell = CellOf(await HistoryAsync(_alpha), _mine, _theirs)!;
        Assert.Single(cell["points"]!.AsArray());
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task CountsLevelPointsAreTheReleasedValuesAndTheTrendFollowsTheRuleInForceNow()
    {
        // This test used to read the exact counts of each upload under the minimum (6, then withheld). Now every
        // counts-level point is a release, the value the matrix showed: the first upload's, since the later ones came
        // within the cell's refresh interval and got no fresh value.
        await Expect(await _beta.Http.PutAsJsonAsync($"/v1/populations/{_theirs}/sharing", new { level = "counts", minimumCount = 5 }), HttpStatusCode.OK);
        await UploadAsync(Accounts(1, 2, 3));
        var shown = (await _alpha.MatrixAsync(_partnership)).Cell(_mine, _theirs)!;
        await UploadAsync(Accounts(1, 2, 3, 4, 5, 6));
        await UploadAsync(Accounts(1, 2, 3, 4));
        await UploadAsync(Accounts(1, 2, 3));

        var cell = CellOf(await HistoryAsync(_alpha), _mine, _theirs)!;
        Assert.Equal("counts", cell["level"]!.GetValue<string>());
        Assert.Equal(5, cell["minimumCount"]!.GetValue<int>());
        var released = shown["count"]?.GetValue<int>();
        // The trend starts from what an empty cell reads (withheld), so a withheld release is no news.
        Assert.Equal(released is null ? [] : [released], Counts(cell));
        Assert.All(cell["points"]!.AsArray(), p => Assert.True(p!["protected"]!.GetValue<bool>()));
        Assert.All(cell["points"]!.AsArray(), p => Assert.Equal(115, p!["marginOfError"]!.GetValue<int>()));
        Assert.Equal(1, (await _beta.PrivacyAsync(_partnership))["budget"]!["releases"]!.GetValue<int>());

        // Raised to the overlaps level, the past under counts keeps its released values (the exact small counts of then
        // are not revealed); the point recorded under overlaps is exact.
        await _beta.ShareAsync(_theirs, "overlaps");
        await _app.RefreshedAsync();
        var later = CellOf(await HistoryAsync(_alpha), _mine, _theirs)!;
        Assert.Equal(released is null ? [3] : [released, 3], Counts(later));
        Assert.Null(later["points"]!.AsArray()[^1]!["protected"]);
        Assert.Null(later["minimumCount"]);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task ACountsLevelPointIsWithheldWhenManyOfMyRecordsHitOneOfThePartners()
    {
        await _beta.NearlyExactAsync(_partnership); // what is counted, not the noise, is under test
        await _beta.ShareAsync(_theirs, "counts");
        // Six records of one account: six of mine overlap, but they count as one (the bounded count), below the minimum.
        await UploadAsync(Records.Ndjson(Enumerable.Range(1, 6).Select(i => new Records.Account($"A-dup-{i}", Domain: "d1.example"))));
        var cell = CellOf(await HistoryAsync(_alpha), _mine, _theirs)!;
        Assert.Empty(Counts(cell));
        Assert.NotEqual(0, (await _beta.PrivacyAsync(_partnership))["budget"]!["releases"]!.GetValue<int>());
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task HistoryDoesNotTellAOneAccountProbeWhetherTheAccountIsThere()
    {
        await _beta.ShareAsync(_theirs, "counts");
        // One account in the partner's list, then one that is not: the history reads the same.
        await UploadAsync(Accounts(1));
        var present = CellOf(await HistoryAsync(_alpha), _mine, _theirs)!.ToJsonString();
        await UploadAsync(Accounts(900));
        var absent = CellOf(await HistoryAsync(_alpha), _mine, _theirs)!.ToJsonString();
        Assert.Equal(present, absent);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task NewSinceListsExactlyTheRecordsThatStartedToOverlapAfterThatTimeWithTheSharedFieldsOnly()
    {
        await _beta.ShareAsync(_theirs, "overlaps", "stage");
        await UploadAsync(Accounts(1, 2, 3, 20));
        var since = DateTimeOffset.UtcNow;
        await Task.Delay(20);
        await UploadAsync(Accounts(4, 5, 21), delta: true);

        var response = await _alpha.Http.GetAsync(NewUrl(_mine, _theirs, since));
        await Expect(response, HttpStatusCode.OK);
        var page = await Json(response);
        Assert.Equal(2, page["totalCount"]!.GetValue<int>());
        Assert.Equal(["A-04", "A-05"], page["items"]!.AsArray().Select(i => i!["recordId"]!.GetValue<string>()));
        Assert.NotNull(page["baselineAt"]);
        foreach (var match in page["items"]!.AsArray().SelectMany(i => i!["matches"]!.AsArray()))
            Assert.Equal(["stage"], match!["fields"]!.AsObject().Select(f => f.Key));
        Assert.DoesNotContain("Beta name", page.ToJsonString());
        Assert.DoesNotContain("B-", page.ToJsonString());

        // Page by page, with the same cursor rules as the list.
        var first = await Json(await _alpha.Http.GetAsync(NewUrl(_mine, _theirs, since, "&limit=1")));
        Assert.Equal("A-04", Assert.Single(first["items"]!.AsArray())!["recordId"]!.GetValue<string>());
        var cursor = first["nextCursor"]!.GetValue<string>();
        var second = await Json(await _alpha.Http.GetAsync(NewUrl(_mine, _theirs, since, $"&limit=1&cursor={Uri.EscapeDataString(cursor)}")));
        Assert.Equal("A-05", Assert.Single(second["items"]!.AsArray())!["recordId"]!.GetValue<string>());
        Assert.Null(second["nextCursor"]);
        var otherSince = await _alpha.Http.GetAsync(NewUrl(_mine, _theirs, since.AddSeconds(-1), $"&limit=1&cursor={Uri.EscapeDataString(cursor)}"));
        Assert.NotNull((await ExpectProblem(otherSince, HttpStatusCode.BadRequest))["errors"]!["cursor"]);

        // Before the first point nothing overlapped as far as history knows: everything overlapping now is new. (Alpha
        // shows its population to beta at the overlaps level, so beta's audit view shows how many records it released.)
        await _alpha.ShareAsync(_mine, "overlaps");
        var all = await Json(await _alpha.Http.GetAsync(NewUrl(_mine, _theirs, new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero))));
        Assert.Equal(["A-01", "A-02", "A-03", "A-04", "A-05"], all["items"]!.AsArray().Select(i => i!["recordId"]!.GetValue<string>()));
        Assert.Null(all["baselineAt"]);

        var release = (await Json(await _beta.Http.GetAsync("/v1/audit?limit=1000")))["items"]!.AsArray()
            .Last(e => e!["action"]!.GetValue<string>() == "overlaps.released")!;
        Assert.Equal(5, release["detail"]!["rows"]!.GetValue<int>());
    }

    [Fact]
    public async Task NewSinceDoesNotRevealWhichRecordsOverlappedWhileThePartnerSharedOnlyCounts()
    {
        await _beta.ShareAsync(_theirs, "counts");
        await UploadAsync(Accounts(1, 2, 3));
        var countsEra = DateTimeOffset.UtcNow;
        await Task.Delay(20);
        await _beta.ShareAsync(_theirs, "overlaps", "stage");
        await _app.RefreshedAsync();

        // Compared with a time when beta shared only counts, "new" would tell which of alpha's records overlapped then.
        var refused = await ExpectProblem(await _alpha.Http.GetAsync(NewUrl(_mine, _theirs, countsEra)), HttpStatusCode.BadRequest);
        Assert.Contains("overlaps level", refused["errors"]!["since"]![0]!.GetValue<string>());

        // From the time beta shares the list, "new" works, against what overlapped when sharing started.
        var shared = DateTimeOffset.UtcNow;
        await Task.Delay(20);
        await UploadAsync(Accounts(4), delta: true);
        var page = await Json(await _alpha.Http.GetAsync(NewUrl(_mine, _theirs, shared)));
        Assert.Equal(["A-04"], page["items"]!.AsArray().Select(i => i!["recordId"]!.GetValue<string>()));

        using var db = _app.OpenDatabase();
        using var read = db.CreateCommand();
        read.CommandText = "SELECT level, record_ids IS NULL FROM overlap_history ORDER BY at, id";
        using var rows = read.ExecuteReader();
        var points = new List<(string Level, bool NoIds)>();
        while (rows.Read()) points.Add((rows.GetString(0), rows.GetBoolean(1)));
        Assert.Equal([("counts", true), ("overlaps", false), ("overlaps", false)], points);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task NewSinceNeedsAValidTimeAndTheOverlapsLevel()
    {
        await Expect(await _beta.Http.PutAsJsonAsync($"/v1/populations/{_theirs}/sharing", new { level = "counts" }), HttpStatusCode.OK);
        var url = $"/v1/partnerships/{_partnership}/overlaps/{_mine}/{_theirs}/new";
        await ExpectProblem(await _alpha.Http.GetAsync(NewUrl(_mine, _theirs, DateTimeOffset.UtcNow)), HttpStatusCode.Forbidden);

        await _beta.ShareAsync(_theirs, "overlaps");
        Assert.NotNull((await ExpectProblem(await _alpha.Http.GetAsync(url), HttpStatusCode.BadRequest))["errors"]!["since"]);
        Assert.NotNull((await ExpectProblem(await _alpha.Http.GetAsync(url + "?since=yesterday"), HttpStatusCode.BadRequest))["errors"]!["since"]);
        Assert.NotNull((await ExpectProblem(await _alpha.Http.GetAsync(NewUrl(_mine, _theirs, DateTimeOffset.UtcNow, "&limit=0")), HttpStatusCode.BadRequest))["errors"]!["limit"]);
        await Expect(await _alpha.Http.GetAsync(url + "?since=2026-11-22T10:00:00%2B01:00"), HttpStatusCode.OK);
        var history = await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/history?from=2026-11-23T00:00:00Z&to=2026-11-22T00:00:00Z");
        Assert.NotNull((await ExpectProblem(history, HttpStatusCode.BadRequest))["errors"]!["from"]);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task AHiddenPartnerPopulationAnswersNewSinceExactlyLikeOneThatDoesNotExist()
    {
        await _beta.ShareAsync(_theirs, "overlaps");
        var hidden = await _alpha.Http.GetAsync(NewUrl(_mine, _pipeline, DateTimeOffset.UtcNow));
        var missing = await _alpha.Http.GetAsync(NewUrl(_mine, "pop_doesnotexist", DateTimeOffset.UtcNow));
        Assert.Equal((await ExpectProblem(missing, HttpStatusCode.NotFound)).ToJsonString(), (await ExpectProblem(hidden, HttpStatusCode.NotFound)).ToJsonString());
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task NoOtherOrganizationReachesTheHistoryWhateverIdsItGuesses()
    {
        await _beta.ShareAsync(_theirs, "overlaps");
        await UploadAsync(Accounts(1, 2, 3));
        var gamma = await _app.SignupAsync("hist-gamma");
        var gammaPopulation = await gamma.CreatePopulationAsync("Customers");
        await gamma.PartnerAsync(_beta);
        var since = DateTimeOffset.UtcNow.AddDays(-1);
        foreach (var url in new[]
                 {
                     $"/v1/partnerships/{_partnership}/overlaps/history",
                     NewUrl(_mine, _theirs, since),
                     NewUrl(gammaPopulation, _theirs, since),
                 })
            await ExpectProblem(await gamma.Http.GetAsync(url), HttpStatusCode.NotFound);
        // Nor does alpha reach through its partnership with a population that is not its own.
        await ExpectProblem(await _alpha.Http.GetAsync(NewUrl(_theirs, _theirs, since)), HttpStatusCode.NotFound);
        await ExpectProblem(await _alpha.Http.GetAsync(NewUrl(gammaPopulation, _theirs, since)), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ATerminatedPartnershipHasNoHistoryToShowAndKeepsNone()
    {
        await _beta.ShareAsync(_theirs, "overlaps");
        await UploadAsync(Accounts(1, 2, 3));
        await Expect(await _beta.Http.PostAsync($"/v1/partnerships/{_partnership}/terminate", null), HttpStatusCode.OK);

        await ExpectProblem(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/history"), HttpStatusCode.Conflict);
        await ExpectProblem(await _alpha.Http.GetAsync(NewUrl(_mine, _theirs, DateTimeOffset.UtcNow)), HttpStatusCode.Conflict);
        await _app.RefreshedAsync();
        using var db = _app.OpenDatabase();
        using var count = db.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM overlap_history WHERE partnership_id = $p";
        count.Parameters.AddWithValue("$p", _partnership);
        Assert.Equal(0L, (long)count.ExecuteScalar()!);
    }

    [Fact]
    public async Task TheRecordIdsBehindAHistoryPointAreNotStoredInTheClear()
    {
        await _beta.ShareAsync(_theirs, "overlaps");
        await UploadAsync(Records.Ndjson(Enumerable.Range(1, 3).Select(i => new Records.Account($"CLEARTEXT-PROBE-{i}", Domain: $"d{i}.example"))));
        using var db = _app.OpenDatabase();
        using var read = db.CreateCommand();
        read.CommandText = "SELECT record_ids FROM overlap_history";
        var sealedIds = (byte[])read.ExecuteScalar()!;
        Assert.Equal(-1, sealedIds.AsSpan().IndexOf("CLEARTEXT-PROBE"u8));
        Assert.Equal(-1, sealedIds.AsSpan().IndexOf("PROBE"u8));
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task PartnerPopulationsShowWhenTheirDataWasLastUpdatedUnlessHidden()
    {
        await _beta.ShareAsync(_theirs, "counts");
        var updatedAt = (await Json(await _beta.Http.GetAsync($"/v1/populations/{_theirs}")))["updatedAt"]!.GetValue<DateTimeOffset>();

        var matrix = await _alpha.MatrixAsync(_partnership);
        var column = Assert.Single(matrix["partnerPopulations"]!.AsArray())!;
        Assert.Equal(_theirs, column["id"]!.GetValue<string>());
        Assert.Equal(updatedAt, column["dataUpdatedAt"]!.GetValue<DateTimeOffset>());

        var sharing = await Json(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/sharing"));
        var theirs = Assert.Single(sharing["theirs"]!.AsArray())!;
        Assert.Equal(updatedAt, theirs["dataUpdatedAt"]!.GetValue<DateTimeOffset>());
        Assert.DoesNotContain(_pipeline, matrix.ToJsonString() + sharing.ToJsonString());
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task TwoRefreshersThatSawTheSameChangeRecordItOnce()
    {
        var repository = _app.Services.GetRequiredService<OverlapEscrow.Application.Storage.IOverlapHistoryRepository>();
        // The service's own refresher works on this cell too (the partnership was just accepted): let it finish, then
        // start from whatever it left as the cell's latest point, so the race below is the test's alone.
        await _app.RefreshedAsync();
        var latest = (await repository.GetLatestAsync(_partnership, _alpha.Id, _mine, _theirs, DateTimeOffset.MaxValue, withRecordIds: false,
            CancellationToken.None))?.Id;
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_000);
        OverlapEscrow.Application.Storage.HistoryPoint Point(string id) =>
            new(id, _partnership, _alpha.Id, _mine, _theirs, at, OverlapEscrow.Domain.Sharing.SharingLevel.Counts, 7, 7, null);
        // Both read the same latest point for the cell and try to append their point.
        Assert.True(await repository.AppendAsync(Point("ohp_first"), DateTimeOffset.UnixEpoch, expectedLatestId: latest, CancellationToken.None));
        Assert.False(await repository.AppendAsync(Point("ohp_second"), DateTimeOffset.UnixEpoch, expectedLatestId: latest, CancellationToken.None));
        // The next change is appended against the point that is now the latest.
        Assert.True(await repository.AppendAsync(Point("ohp_third"), DateTimeOffset.UnixEpoch, expectedLatestId: "ohp_first", CancellationToken.None));
        Assert.False(await repository.AppendAsync(Point("ohp_fourth"), DateTimeOffset.UnixEpoch, expectedLatestId: "ohp_first", CancellationToken.None));
    }
}
