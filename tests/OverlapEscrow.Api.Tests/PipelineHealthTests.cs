using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>The pipeline figures of docs/health.md through HTTP: definitions, partners, hidden and counts-only cells, access.</summary>
[Trait("AlsoOn", "postgres")]
public sealed class PipelineHealthTests : IAsyncLifetime
{
    private readonly EscrowApp _app = new();
    private Org _alpha = null!, _beta = null!;
    private string _pipeline = "", _betaCustomers = "", _partnership = "";

    private static Records.Account Opp(int account, string id, params (string Name, string Value)[] fields) =>
        new(id, Domain: $"d{account}.example", Attributes: fields.ToDictionary(f => f.Name, f => f.Value));

    /// <summary>
    /// Alpha's pipeline on accounts d0…d36; beta's customers are d0…d19. Open: O0…O4 (1000 USD, overlapping),
    /// O5…O9 (500 USD, not). Closed in 2026-Q1: W0…W11 on d5…d16 (overlapping, 9 won), N0…N11 on d25…d36 (not, 3 won).
    /// </summary>
    public async Task InitializeAsync()
    {
        _alpha = await _app.SignupAsync("alpha");
        _beta = await _app.SignupAsync("beta");
        _pipeline = await _alpha.CreatePopulationAsync("Pipeline", "opportunities");
        var opportunities = new List<Records.Account>();
        for (var i = 0; i < 5; i++) opportunities.Add(Opp(i, $"O{i}", ("amount", "1000"), ("currency", "USD"), ("closed", "false")));
        for (var i = 5; i < 10; i++) opportunities.Add(Opp(i + 15, $"O{i}", ("amount", "500"), ("currency", "USD")));
        for (var i = 0; i < 12; i++)
            opportunities.Add(Opp(5 + i, $"W{i:D2}", ("amount", "2000"), ("currency", "USD"), ("created_date", "2026-01-01"), ("close_date", "2026-02-01"),
                ("closed", "true"), ("won", i < 9 ? "true" : "false")));
        for (var i = 0; i < 12; i++)
            opportunities.Add(Opp(25 + i, $"N{i:D2}", ("amount", "1000"), ("currency", "USD"), ("created_date", "2026-01-01"), ("close_date", "2026-03-01"),
                ("closed", "true"), ("won", i < 3 ? "true" : "false")));
        await _alpha.UploadOkAsync(_pipeline, Records.Ndjson(opportunities));
        _betaCustomers = await _beta.CreatePopulationAsync("Customers");
        await _beta.UploadOkAsync(_betaCustomers, Records.Range("B", 0, 20));
        await _beta.ShareAsync(_betaCustomers, "overlaps");
        _partnership = await _alpha.PartnerAsync(_beta);
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    private static async Task<JsonObject> PipelineAsync(Org org, string query = "?period=2026-Q1")
    {
        var response = await org.Http.GetAsync("/v1/health/pipeline" + query);
        await Expect(response, HttpStatusCode.OK);
        return await Json(response);
    }

    private static JsonNode Partner(JsonObject report, string partnershipId) =>
        report["partners"]!.AsArray().Single(p => p!["partnershipId"]!.GetValue<string>() == partnershipId)!;

    [Fact]
    public async Task PotentialRevenueCoverageAndWinRateFollowTheirDefinitions()
    {
        var report = await PipelineAsync(_alpha);

        Assert.Equal("USD", report["currency"]!.GetValue<string>());
        Assert.Equal("2026-01-01", report["period"]!["from"]!.GetValue<string>());
        Assert.Equal(34, report["opportunities"]!.GetValue<int>());
        var figures = Partner(report, _partnership)["figures"]!;
        Assert.Equal("exact", Partner(report, _partnership)["access"]!.GetValue<string>());
        Assert.Equal(5000m, figures["potentialRevenue"]!.GetValue<decimal>());
        Assert.Equal((10, 5, 7500m, 5000m), (figures["coverage"]!["openCount"]!.GetValue<int>(), figures["coverage"]!["coveredCount"]!.GetValue<int>(),
            figures["coverage"]!["openAmount"]!.GetValue<decimal>(), figures["coverage"]!["coveredAmount"]!.GetValue<decimal>()));
        Assert.Equal(0.5, report["overall"]!["countShare"]!.GetValue<double>());
        var winRate = figures["winRate"]!;
        Assert.Equal((12, 12), (winRate["withCount"]!.GetValue<int>(), winRate["withoutCount"]!.GetValue<int>()));
        Assert.Equal(0.75, winRate["with"]!.GetValue<double>(), 9);
        Assert.Equal(0.25, winRate["without"]!.GetValue<double>(), 9);
        Assert.Equal(0.5, winRate["difference"]!.GetValue<double>(), 9);
        // Newcombe's method 10 from the Wilson intervals of 9/12 and 3/12, computed by hand (docs/health.md).
        Assert.Equal(0.1008, winRate["differenceLow"]!.GetValue<double>(), 4);
        Assert.Equal(0.7278, winRate["differenceHigh"]!.GetValue<double>(), 4);
        // 9 won with an overlap and 3 without: below ten in a group, so no deal size is compared.
        Assert.True(figures["averageDealSize"]!["tooSmall"]!.GetValue<bool>());
        Assert.Null(figures["averageDealSize"]!["difference"]);
    }

    [Fact]
    public async Task AHiddenCustomerPopulationAndAProspectsPopulationContributeNothing()
    {
        var hidden = await _beta.CreatePopulationAsync("Secret customers");
        await _beta.UploadOkAsync(hidden, Records.Range("H", 20, 5)); // the accounts of O5…O9
        var prospects = await _beta.CreatePopulationAsync("Prospects", "prospects");
        await _beta.UploadOkAsync(prospects, Records.Range("P", 20, 5));
        await _beta.ShareAsync(prospects, "overlaps");

        var figures = Partner(await PipelineAsync(_alpha), _partnership)["figures"]!;

        Assert.Equal(5000m, figures["potentialRevenue"]!.GetValue<decimal>());
        Assert.Equal(1, Partner(await PipelineAsync(_alpha), _partnership)["customerPopulations"]!.GetValue<int>());
    }

    [Fact]
    public async Task APartnerSharingItsCustomersAsCountsOnlyGetsReleasedFiguresAndCountsInTheOverallCoverageThroughARelease()
    {
        var gamma = await _app.SignupAsync("gamma");
        var gammaCustomers = await gamma.CreatePopulationAsync("Customers");
        await gamma.UploadOkAsync(gammaCustomers, Records.Range("G", 20, 5));
        // A minimum of 1 and little noise (ε 10 a release): the noised count of the covered opportunities is above the
        // minimum whatever the draw, so the figures are shown (below it they are withheld: the next test).
        await Expect(await gamma.Http.PutAsJsonAsync($"/v1/populations/{gammaCustomers}/sharing", new { level = "counts", minimumCount = 1 }), HttpStatusCode.OK);
        var second = await _alpha.PartnerAsync(gamma);
        await gamma.SetPrivacyAsync(second, new { epsilonPerPeriod = 100, epsilonPerRelease = 10 });

        var report = await PipelineAsync(_alpha);

        var partner = Partner(report, second);
        Assert.Equal("counts_only", partner["access"]!.GetValue<string>());
        Assert.True(partner["figures"] is not null, partner.ToJsonString());
        Assert.False(partner["released"]!["withheld"]!.GetValue<bool>());
        Assert.Equal(5, partner["released"]!["releases"]!.AsArray().Count);
        Assert.Equal(0, report["partnersLeftOut"]!.GetValue<int>());
        Assert.Equal([second], report["overallReleased"]!["chargedPartnershipIds"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.InRange(report["overall"]!["coveredCount"]!.GetValue<int>(), 5, report["overall"]!["openCount"]!.GetValue<int>());
    }

    [Fact]
    public async Task FiguresOverACountsOnlyCellBelowThePartnersMinimumAreWithheldAsTheMatrixCellIs()
    {
        // The partner's minimum reportable count is 1,000: the matrix withholds the cell, and the figures resting on it —
        // my covered opportunities, and the sum of my amounts over them, which would tell which of them overlap — are
        // withheld as well, whatever the noise drew.
        var gamma = await _app.SignupAsync("gamma");
        var gammaCustomers = await gamma.CreatePopulationAsync("Customers");
        await gamma.UploadOkAsync(gammaCustomers, Records.Range("G", 20, 5));
        await Expect(await gamma.Http.PutAsJsonAsync($"/v1/populations/{gammaCustomers}/sharing", new { level = "counts", minimumCount = 1000 }), HttpStatusCode.OK);
        var second = await _alpha.PartnerAsync(gamma);

        var cell = Assert.Single((await _alpha.MatrixAsync(second))["cells"]!.AsArray(), c => c!["partnerPopulationId"]!.GetValue<string>() == gammaCustomers)!;
        Assert.Null(cell["count"]);
        var partner = Partner(await PipelineAsync(_alpha), second);
        Assert.Equal("counts_only", partner["access"]!.GetValue<string>());
        Assert.Null(partner["figures"]);
        Assert.True(partner["released"]!["withheld"]!.GetValue<bool>());
        Assert.Equal("minimum", partner["released"]!["withheldBecause"]!.GetValue<string>());
        Assert.Null(partner["released"]!["coveredCount"]);
        Assert.Null(partner["released"]!["potentialRevenue"]);
    }

    [Fact]
    public async Task TheLeaderboardShowsEachScoresInputsAndWeightsAndLeavesCountsOnlyPartnersWithheldByTheirBudgetUnscored()
    {
        var gamma = await _app.SignupAsync("gamma");
        var gammaCustomers = await gamma.CreatePopulationAsync("Customers");
        await gamma.UploadOkAsync(gammaCustomers, Records.Range("G", 20, 5));
        await gamma.ShareAsync(gammaCustomers, "counts");
        var second = await _alpha.PartnerAsync(gamma);
        // A budget of one release: the first figure is released, the other four are withheld, so the partner has no figures to score.
        await gamma.SetPrivacyAsync(second, new { epsilonPerPeriod = 0.02, epsilonPerRelease = 0.02 });

        var response = await _alpha.Http.GetAsync("/v1/health/leaderboard?period=2026-Q1");
        await Expect(response, HttpStatusCode.OK);
        var board = await Json(response);

        var top = Assert.Single(board["partners"]!.AsArray())!;
        Assert.Equal(_partnership, top["partnershipId"]!.GetValue<string>());
        // The only partner scored is the best on every input: 50 + 20 + 30 (its lift's interval starts above zero).
        Assert.Equal(100.0, top["score"]!.GetValue<double>());
        Assert.Equal("strategic", top["tier"]!.GetValue<string>());
        Assert.Equal([50.0, 20.0, 30.0], top["inputs"]!.AsArray().Select(i => i!["points"]!.GetValue<double>()));
        Assert.Equal(0.5, board["weights"]!["potential_revenue"]!.GetValue<double>());
        var unscored = Assert.Single(board["unscored"]!.AsArray())!;
        Assert.Equal(second, unscored["partnershipId"]!.GetValue<string>());
        Assert.True(unscored["released"]!["withheld"]!.GetValue<bool>());
        Assert.Equal(1, board["concentration"]!["partnersForFourFifths"]!.GetValue<int>());
        Assert.Equal(1.0, board["concentration"]!["herfindahl"]!.GetValue<double>());

        var stranger = await _app.SignupAsync("stranger");
        var theirs = await Json(await stranger.Http.GetAsync("/v1/health/leaderboard"));
        Assert.Empty(theirs["partners"]!.AsArray());
        Assert.Empty(theirs["unscored"]!.AsArray());
    }

    [Fact]
    public async Task TheLeadershipReportIsTheSameLinesAsJsonAndAsCsvWithTheLiftAndItsInterval()
    {
        var json = await Json(await _alpha.Http.GetAsync("/v1/health/report?period=2026-Q1"));
        var lines = json["lines"]!.AsArray();
        var lift = lines.Single(l => l!["measure"]!.GetValue<string>() == "win_rate_difference")!;
        Assert.Equal("beta Inc.", lift["partner"]!.GetValue<string>());
        Assert.Equal(("0.5", "0.1008", "0.7278", 12, 12), (lift["value"]!.GetValue<string>(), lift["low"]!.GetValue<string>(), lift["high"]!.GetValue<string>(),
            lift["withCount"]!.GetValue<int>(), lift["withoutCount"]!.GetValue<int>()));

        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/health/report?period=2026-Q1");
        request.Headers.Accept.ParseAdd("text/csv");
        var response = await _alpha.Http.SendAsync(request);
        await Expect(response, HttpStatusCode.OK);
        var rows = (await response.Content.ReadAsStringAsync()).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("section,partner,measure,value,low,high,with_count,without_count", rows[0]);
        Assert.Equal(lines.Count, rows.Length - 1);
        Assert.Contains("lift,beta Inc.,win_rate_difference,0.5,0.1008,0.7278,12,12", rows);
        Assert.Contains("coverage,,coverage_count_share,0.5,,,,", rows);
    }

    [Fact]
    public async Task APartnerNameAsAFormulaIsEscapedInTheCsv()
    {
        var sneaky = await _app.SignupAsync("sneaky", "=HYPERLINK(\"http://x\")");
        var customers = await sneaky.CreatePopulationAsync("Customers");
        await sneaky.UploadOkAsync(customers, Records.Range("S", 0, 3));
        await sneaky.ShareAsync(customers, "overlaps");
        await _alpha.PartnerAsync(sneaky);

        var csv = await (await _alpha.Http.GetAsync("/v1/health/report?period=2026-Q1&format=csv")).Content.ReadAsStringAsync();

        Assert.Contains("'=HYPERLINK", csv);
        Assert.DoesNotContain(",=HYPERLINK", csv);
        Assert.DoesNotContain(",\"=HYPERLINK", csv);
    }

    [Fact]
    public async Task ATerminatedPartnershipContributesNothing()
    {
        await Expect(await _beta.Http.PostAsync($"/v1/partnerships/{_partnership}/terminate", null), HttpStatusCode.OK);

        var report = await PipelineAsync(_alpha);

        Assert.Empty(report["partners"]!.AsArray());
        Assert.Equal(0, report["overall"]!["coveredCount"]!.GetValue<int>());
        var one = await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/health/pipeline?period=2026-Q1");
        await Expect(one, HttpStatusCode.OK);
        Assert.Empty((await Json(one))["partners"]!.AsArray());
    }

    /// <summary>Every leaf value of a JSON document, as its JSON text.</summary>
    private static IEnumerable<string> Leaves(System.Text.Json.Nodes.JsonNode? node) => node switch
    {
        System.Text.Json.Nodes.JsonObject o => o.SelectMany(p => Leaves(p.Value)),
        System.Text.Json.Nodes.JsonArray a => a.SelectMany(Leaves),
        null => ["null"],
        _ => [node.ToJsonString()],
    };

    [Fact]
    public async Task ThePartnerAndOtherTenantsNeverSeeMyFigures()
    {
        // The partner's own report is of its own pipeline (it has none): nothing of mine in it.
        var betaView = await (await _beta.Http.GetAsync($"/v1/partnerships/{_partnership}/health/pipeline?period=2026-Q1")).Content.ReadAsStringAsync();
        Assert.Contains("\"opportunities\":0", betaView);
        // My amounts (5000, 7500) as a value anywhere in it — not as digits inside a random id, which they may be by chance.
        Assert.DoesNotContain(Leaves(System.Text.Json.Nodes.JsonNode.Parse(betaView)), v => v is "5000" or "7500" or "5000.0" or "7500.0" or "\"5000\"" or "\"7500\"");

        var stranger = await _app.SignupAsync("stranger");
        await ExpectProblem(await stranger.Http.GetAsync($"/v1/partnerships/{_partnership}/health/pipeline"), HttpStatusCode.NotFound);
        var own = await PipelineAsync(stranger);
        Assert.Empty(own["partners"]!.AsArray());
    }

    [Fact]
    public async Task AMalformedPeriodOrCurrencyIsAProblemNamingTheField()
    {
        var problem = await ExpectProblem(await _alpha.Http.GetAsync("/v1/health/pipeline?period=2026-Q5&currency=usd"), HttpStatusCode.BadRequest);

        Assert.NotNull(problem["errors"]!["period"]);
        Assert.NotNull(problem["errors"]!["currency"]);
    }
}
