using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Client.Hashing;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Match confidence and hashing specification versions as a partner sees them: each list match labelled, possible
/// matches only on request, and a notice when the two sides of a cell were hashed under different versions.
/// </summary>
public sealed class MatchConfidenceTests : IAsyncLifetime
{
    private readonly EscrowApp _app = new();
    private Org _alpha = null!, _beta = null!;
    private string _alphaCustomers = "", _betaCustomers = "", _partnership = "";

    /// <summary>The CRM rows of each side, hashed by the client library (spec v2), ids chosen to read the result.</summary>
    private static readonly (string Id, string? Website, string Name, string Country)[] AlphaRows =
    [
        ("a-exact", "https://www.acme-widgets.com", "Acme Widgets", "US"),
        ("a-strong", null, "Kagi", "US"),
        ("a-possible", null, "Summit Consulting", "US"),
        ("a-none", "https://globex.example", "Globex", "US"),
    ];

    private static readonly (string Id, string? Website, string Name, string Country)[] BetaRows =
    [
        ("b-exact", "acme-widgets.com", "ACME Widgets Inc.", "US"),
        ("b-strong", null, "Kagi Inc.", "US"),
        ("b-possible", null, "Summit Consulting LLC", "US"),
        ("b-none", "initech.example", "Initech", "US"),
    ];

    public async Task InitializeAsync()
    {
        _alpha = await _app.SignupAsync("alpha");
        _beta = await _app.SignupAsync("beta");
        _alphaCustomers = await _alpha.CreatePopulationAsync("Customers");
        _betaCustomers = await _beta.CreatePopulationAsync("Customers");
        _partnership = await _alpha.PartnerAsync(_beta);
        await _beta.ShareAsync(_betaCustomers, "overlaps", "accountName");
        await _alpha.ShareAsync(_alphaCustomers, "overlaps", "accountName");
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task EachMatchIsLabelledAndAGenericNameAloneIsListedOnlyOnRequest()
    {
        await UploadAsync(_alpha, _alphaCustomers, AlphaRows, "v2");
        await UploadAsync(_beta, _betaCustomers, BetaRows, "v2");

        var byDefault = await ListAsync(null);
        Assert.Equal("default", byDefault["matches"]!.GetValue<string>());
        Assert.Equal(new Dictionary<string, string> { ["a-exact"] = "exact", ["a-strong"] = "strong" }, Confidences(byDefault));
        Assert.Equal(2, byDefault["totalCount"]!.GetValue<int>());
        // The matrix counts the default view: the generic pair is not silently an overlap.
        Assert.Equal(2, (await _alpha.MatrixAsync(_partnership)).Cell(_alphaCustomers, _betaCustomers)!["count"]!.GetValue<int>());

        var all = await ListAsync("all");
        Assert.Equal("all", all["matches"]!.GetValue<string>());
        Assert.Equal(new Dictionary<string, string> { ["a-exact"] = "exact", ["a-possible"] = "possible", ["a-strong"] = "strong" }, Confidences(all));
        Assert.Equal(3, all["totalCount"]!.GetValue<int>());
        // The possible match shows the partner's shared field like any other, and nothing of the unmatched records.
        var possible = all["items"]!.AsArray().Single(i => i!["recordId"]!.GetValue<string>() == "a-possible")!;
        Assert.Equal("Summit Consulting LLC", possible["matches"]![0]!["fields"]!["accountName"]!.GetValue<string>());
        Assert.DoesNotContain("Initech", all.ToJsonString());

        // The partner sees the same pairs from its side.
        var partnerAll = await Json(await _beta.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_betaCustomers}/{_alphaCustomers}?matches=all"));
        Assert.Equal(new Dictionary<string, string> { ["b-exact"] = "exact", ["b-possible"] = "possible", ["b-strong"] = "strong" }, Confidences(partnerAll));
    }

    [Fact]
    public async Task ANameOneTypoAwayInOneCountryIsAStrongMatchWhetherUploadedAsNdjsonOrCsv()
    {
        await UploadAsync(_alpha, _alphaCustomers, [("a-typo", null, "Questech Ltd", "GB"), ("a-other", null, "Questech Ltd", "FR")], "v2");
        // The partner's CRM mistyped a consonant (no shared skeleton); its rows go up as CSV, typo keys in their own column.
        var keys = AccountKeys.From(null, null, "Quextech Ltd", "GB");
        string Column(string type) => string.Join('|', keys.Identifiers.Where(k => k.Type == type).Select(k => k.Hash()));
        Assert.NotEqual("", Column("name_typo"));
        var csv = "recordId,name,name_only,name_skeleton,name_typo,attr.accountName\n"
            + $"b-typo,{Column("name")},{Column("name_only")},{Column("name_skeleton")},{Column("name_typo")},Quextech Ltd\n";
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/populations/{_betaCustomers}/records") { Content = new StringContent(csv, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        request.Headers.Add("Hashing-Spec", "v2");
        await Expect(await _beta.Http.SendAsync(request), HttpStatusCode.OK);

        var list = await ListAsync(null);
        Assert.Equal(new Dictionary<string, string> { ["a-typo"] = "strong" }, Confidences(list));
        Assert.Equal(["name_typo"], list["items"]![0]!["matches"]![0]!["matchedOn"]!.AsArray().Select(t => t!.GetValue<string>()));
    }

    [Fact]
    public async Task TheCsvExportCarriesTheConfidenceOfEachRowAndFollowsTheView()
    {
        await UploadAsync(_alpha, _alphaCustomers, AlphaRows, "v2");
        await UploadAsync(_beta, _betaCustomers, BetaRows, "v2");

        var csv = await CsvLinesAsync("");
        Assert.StartsWith("recordId,matchedOn,confidence,", csv[0]);
        Assert.Equal(["a-exact,exact", "a-strong,strong"], csv.Skip(1).Select(l => l.Split(',')[0] + "," + l.Split(',')[2]).Order());
        var all = await CsvLinesAsync("&matches=all");
        Assert.Equal(["a-exact,exact", "a-possible,possible", "a-strong,strong"], all.Skip(1).Select(l => l.Split(',')[0] + "," + l.Split(',')[2]).Order());
    }

    [Fact]
    public async Task AnUnknownViewIsRefusedNamingTheParameterAndACursorOfOneViewIsNoPageOfTheOther()
    {
        await UploadAsync(_alpha, _alphaCustomers, AlphaRows, "v2");
        await UploadAsync(_beta, _betaCustomers, BetaRows, "v2");

        var problem = await ExpectProblem(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}?matches=everything"),
            HttpStatusCode.BadRequest);
        Assert.Contains("matches", problem["errors"]!.AsObject().Select(e => e.Key));

        var first = await ListAsync(null, limit: 1);
        var cursor = first["nextCursor"]!.GetValue<string>();
        await ExpectProblem(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}?matches=all&cursor={Uri.EscapeDataString(cursor)}"),
            HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task TheServerRecordsTheVersionOfEachUploadAndTheMatrixAndListSayWhenTheSidesDiffer()
    {
        await UploadAsync(_alpha, _alphaCustomers, AlphaRows, "v2");
        await UploadAsync(_beta, _betaCustomers, BetaRows, null); // an older client, without the header: version 1
        Assert.Equal("v2", (await Json(await _alpha.Http.GetAsync($"/v1/populations/{_alphaCustomers}")))["hashingSpec"]!.GetValue<string>());
        Assert.Equal("v1", (await Json(await _beta.Http.GetAsync($"/v1/populations/{_betaCustomers}")))["hashingSpec"]!.GetValue<string>());

        var matrix = await _alpha.MatrixAsync(_partnership);
        Assert.Equal("v1", matrix["partnerPopulations"]!.AsArray().Single()!["hashingSpec"]!.GetValue<string>());
        var mismatch = matrix.Cell(_alphaCustomers, _betaCustomers)!["hashingSpecMismatch"]!;
        Assert.Equal(("v2", "v1"), (mismatch["mine"]!.GetValue<string>(), mismatch["partner"]!.GetValue<string>()));
        var fromBeta = (await _beta.MatrixAsync(_partnership)).Cell(_betaCustomers, _alphaCustomers)!["hashingSpecMismatch"]!;
        Assert.Equal(("v1", "v2"), (fromBeta["mine"]!.GetValue<string>(), fromBeta["partner"]!.GetValue<string>()));
        Assert.NotNull((await ListAsync(null))["hashingSpecMismatch"]);

        // The partner upgrades: a snapshot hashed under v2 ends the notice.
        await UploadAsync(_beta, _betaCustomers, BetaRows, "v2");
        Assert.Null((await _alpha.MatrixAsync(_partnership)).Cell(_alphaCustomers, _betaCustomers)!["hashingSpecMismatch"]);
        Assert.Null((await ListAsync(null))["hashingSpecMismatch"]);
    }

    [Fact]
    public async Task ADeltaHashedUnderANewerVersionLeavesThePopulationAtTheOlderOne()
    {
        await UploadAsync(_beta, _betaCustomers, BetaRows[..2], "v1");
        await UploadAsync(_beta, _betaCustomers, BetaRows[2..], "v2", delta: true);
        var population = await Json(await _beta.Http.GetAsync($"/v1/populations/{_betaCustomers}"));
        Assert.Equal("v1", population["hashingSpec"]!.GetValue<string>());
        Assert.Equal(4, population["recordCount"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("2")]
    [InlineData("v")]
    [InlineData("v2.1")]
    [InlineData("v9")]
    [InlineData("v0")]
    public async Task AnUnknownOrMalformedVersionIsRefusedNamingTheHeaderAndChangesNothing(string header)
    {
        await UploadAsync(_beta, _betaCustomers, BetaRows, "v2");
        var before = await Json(await _beta.Http.GetAsync($"/v1/populations/{_betaCustomers}"));

        var response = await SendAsync(_beta, _betaCustomers, Ndjson(AlphaRows), header);
        var problem = await ExpectProblem(response, HttpStatusCode.BadRequest);
        Assert.Contains("Hashing-Spec", problem["errors"]!.AsObject().Select(e => e.Key));

        var after = await Json(await _beta.Http.GetAsync($"/v1/populations/{_betaCustomers}"));
        Assert.Equal(before.ToJsonString(), after.ToJsonString());
        using var db = _app.OpenDatabase();
        Assert.Equal(1, db.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE population_id = @p", new { p = _betaCustomers }));
    }

    private async Task<JsonObject> ListAsync(string? matches, int limit = 100) =>
        await Json(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}?limit={limit}"
            + (matches is null ? "" : $"&matches={matches}")));

    private async Task<string[]> CsvLinesAsync(string query)
    {
        var response = await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}?format=csv{query}");
        await Expect(response, HttpStatusCode.OK);
        return (await response.Content.ReadAsStringAsync()).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
    }

    private static Dictionary<string, string> Confidences(JsonObject list) =>
        list["items"]!.AsArray().ToDictionary(i => i!["recordId"]!.GetValue<string>(),
            i => i!["matches"]!.AsArray().Single()!["confidence"]!.GetValue<string>());

    private static string Ndjson(IEnumerable<(string Id, string? Website, string Name, string Country)> rows) =>
        string.Join('\n', rows.Select(r =>
        {
            var keys = AccountKeys.From(r.Website, null, r.Name, r.Country);
            var identifiers = keys.Identifiers.GroupBy(k => k.Type).ToDictionary(g => g.Key, g => g.Select(k => k.Hash()).Distinct().ToArray());
            return JsonSerializer.Serialize(new { recordId = r.Id, identifiers, attributes = new Dictionary<string, string> { ["accountName"] = r.Name } });
        })) + "\n";

    private static async Task UploadAsync(Org org, string population, IEnumerable<(string, string?, string, string)> rows, string? spec, bool delta = false) =>
        await Expect(await SendAsync(org, population, Ndjson(rows), spec, delta), HttpStatusCode.OK);

    private static Task<HttpResponseMessage> SendAsync(Org org, string population, string body, string? spec, bool delta = false) =>
        org.Http.UploadAsync(population, body, delta: delta, hashingSpec: spec);
}
