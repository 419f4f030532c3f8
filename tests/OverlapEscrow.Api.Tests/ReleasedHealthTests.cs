using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Overlaps;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Pipeline figures over a counts-only cell through HTTP (docs/health.md, docs/privacy.md "Health figures"): released
/// through the private-counts mechanism, once per data, paid from the partner's budget, audited in its log, withheld when
/// the budget is spent, and never reading another partner's data or a hidden population.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class ReleasedHealthTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 9, 6, 0, 0, TimeSpan.Zero);
    private readonly ManualTimeProvider _clock = new(Start);
    private EscrowApp _app = null!;
    private Org _alpha = null!, _beta = null!, _gamma = null!;
    private string _pipeline = "", _gammaCustomers = "", _toBeta = "", _toGamma = "";

    private static Records.Account Opp(int account, string id, params (string Name, string Value)[] fields) =>
        new(id, Domain: $"d{account}.example", Attributes: fields.ToDictionary(f => f.Name, f => f.Value));

    private static List<Records.Account> Pipeline(string suffix = "")
    {
        var opportunities = new List<Records.Account>();
        for (var i = 0; i < 5; i++) opportunities.Add(Opp(i, $"O{i}{suffix}", ("amount", "1000"), ("currency", "USD"), ("closed", "false")));
        for (var i = 5; i < 10; i++) opportunities.Add(Opp(i + 15, $"O{i}{suffix}", ("amount", "500"), ("currency", "USD")));
        for (var i = 0; i < 12; i++)
            opportunities.Add(Opp(5 + i, $"W{i:D2}{suffix}", ("amount", "2000"), ("currency", "USD"), ("created_date", "2026-01-01"), ("close_date", "2026-02-01"),
                ("closed", "true"), ("won", i < 9 ? "true" : "false")));
        for (var i = 0; i < 12; i++)
            opportunities.Add(Opp(25 + i, $"N{i:D2}{suffix}", ("amount", "1000"), ("currency", "USD"), ("created_date", "2026-01-01"), ("close_date", "2026-03-01"),
                ("closed", "true"), ("won", i < 3 ? "true" : "false")));
        return opportunities;
    }

    /// <summary>
    /// Alpha's pipeline as in <see cref="PipelineHealthTests"/>. Beta shares customers d0…d19 at the overlaps level (O0…O4
    /// and the W's); gamma shares customers d20…d36 at the counts level only (O5…O9 open at 500, the N's: 12 closed, 3 won).
    /// </summary>
    public async Task InitializeAsync()
    {
        _app = new EscrowApp(new Dictionary<string, string?>
        {
            ["Escrow:RateLimits:SignupPerAddress:PermitLimit"] = "1000",
            ["Escrow:AccessTokenMinutes"] = "1440",
            ["Escrow:Schedules:PollSeconds"] = "0",
        }, time: _clock) { RandomSeed = 14 };
        _alpha = await _app.SignupAsync("alpha");
        _beta = await _app.SignupAsync("beta");
        _gamma = await _app.SignupAsync("gamma");
        _pipeline = await _alpha.CreatePopulationAsync("Pipeline", "opportunities");
        await _alpha.UploadOkAsync(_pipeline, Records.Ndjson(Pipeline()));
        var betaCustomers = await _beta.CreatePopulationAsync("Customers");
        await _beta.UploadOkAsync(betaCustomers, Records.Range("B", 0, 20));
        await _beta.ShareAsync(betaCustomers, "overlaps");
        _gammaCustomers = await _gamma.CreatePopulationAsync("Customers");
        await _gamma.UploadOkAsync(_gammaCustomers, Records.Range("G", 20, 17));
        await _gamma.ShareAsync(_gammaCustomers, "counts");
        _toBeta = await _alpha.PartnerAsync(_beta);
        _toGamma = await _alpha.PartnerAsync(_gamma);
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    private async Task<JsonNode> GammaAsync(string period = "2026-Q1")
    {
        var response = await _alpha.Http.GetAsync($"/v1/health/pipeline?period={period}");
        await Expect(response, HttpStatusCode.OK);
        return (await Json(response))["partners"]!.AsArray().Single(p => p!["partnershipId"]!.GetValue<string>() == _toGamma)!;
    }

    /// <summary>
    /// Reads alpha's matrix with gamma, which releases its counts-level cells now if the refresher has not yet: each is
    /// released once per data either way, so the budget's spending on them is settled before a test counts it.
    /// </summary>
    private Task SettleMatrixAsync() => _alpha.MatrixAsync(_toGamma);

    /// <summary>Gamma lowers its budget with alpha to what it has spent this period: no further release can be paid for.</summary>
    private async Task SpendAllAsync()
    {
        var spent = (await _gamma.PrivacyAsync(_toGamma))["budget"]!["spent"]!.GetValue<decimal>();
        await _gamma.SetPrivacyAsync(_toGamma, new { epsilonPerPeriod = spent, epsilonPerRelease = 0.02 });
    }

    /// <summary>Logs the organization's admin in again (after the manual clock has passed its access token's lifetime).</summary>
    private async Task ReloginAsync(Org org)
    {
        var login = await _app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email = $"admin@{org.Slug}.example", password = Password });
        await Expect(login, HttpStatusCode.OK);
        org.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Json(login))["accessToken"]!.GetValue<string>());
    }

    private static async Task<List<JsonNode>> AuditAsync(Org org, string action) =>
        (await Json(await org.Http.GetAsync("/v1/audit?limit=1000")))["items"]!.AsArray().Where(e => e!["action"]!.GetValue<string>() == action).Select(e => e!).ToList();

    [Fact]
    public async Task WithExactCountsChosenByThePartnerFiguresOverItsCountsOnlyCellAreWithheldNotExact()
    {
        // Exact counts are for counts. An exact sum of my amounts over gamma's counts-only cell would say which of my
        // opportunities overlap (amounts 1, 2, 4, … decode the set in one read): nothing is drawn or shown.
        await _gamma.SetPrivacyAsync(_toGamma, new { exactCounts = true, confirmExactCounts = true });

        var gamma = await GammaAsync();

        Assert.Equal("counts_only", gamma["access"]!.GetValue<string>());
        Assert.Null(gamma["figures"]);
        Assert.True(gamma["released"]!["withheld"]!.GetValue<bool>());
        Assert.Equal("exact_counts", gamma["released"]!["withheldBecause"]!.GetValue<string>());
        Assert.Empty(gamma["released"]!["releases"]!.AsArray());
        // (The matrix cell may have had its own noised release before gamma chose exact counts: only the figures' spends are counted.)
        Assert.DoesNotContain(await AuditAsync(_gamma, "privacy.budget_spent"), e => e["detail"]!["figure"] is not null);
    }

    [Fact]
    public async Task AReadThatShowsStoredReleasesComputesNothingOfTheCountsOnlyCells()
    {
        // What computing a counts-only cell costs grows with how many of my records the partner's customers match: a read
        // that only shows stored releases must not compute it, or its duration answers a membership probe for free
        // (trial 7 retest). A second instance on the same database starts with empty caches.
        var first = await GammaAsync();
        await SettleMatrixAsync();
        // The refresh queue drained first: a change still queued would be claimed by the second instance's refresher, which
        // computes the cells it refreshes (a CI run saw one graph held for that reason, not for the read).
        await _app.RefreshedAsync();
        using var second = new EscrowApp(new Dictionary<string, string?> { ["Escrow:AccessTokenMinutes"] = "1440" }, dataDirectory: _app.DataDirectory, time: _clock);
        var http = second.CreateClient();
        http.DefaultRequestHeaders.Authorization = _alpha.Http.DefaultRequestHeaders.Authorization;
        var graphs = second.Services.GetRequiredService<OverlapCache>();

        var response = await http.GetAsync("/v1/health/pipeline?period=2026-Q1");
        await Expect(response, HttpStatusCode.OK);
        var again = (await Json(response))["partners"]!.AsArray().Single(p => p!["partnershipId"]!.GetValue<string>() == _toGamma)!;
        await Expect(await http.GetAsync($"/v1/partnerships/{_toGamma}/overlaps"), HttpStatusCode.OK);

        Assert.Equal(first["figures"]!.ToJsonString(), again["figures"]!.ToJsonString()); // the stored releases, shown again
        Assert.Equal(0, graphs.HeldOwnerLocalGraphs);
        // The control: new data of mine and the refresh interval past, a draw is due, and the read computes the graph.
        await _alpha.UploadOkAsync(_pipeline, Records.Ndjson(Pipeline("-2")));
        _clock.Advance(TimeSpan.FromDays(8));
        await ReloginAsync(_alpha);
        http.DefaultRequestHeaders.Authorization = _alpha.Http.DefaultRequestHeaders.Authorization;
        await Expect(await http.GetAsync("/v1/health/pipeline?period=2026-Q1"), HttpStatusCode.OK);
        Assert.True(graphs.HeldOwnerLocalGraphs > 0);
    }

    [Fact]
    public async Task FiguresOverACountsOnlyCellAreNoisedOncePerDataAndPaidOnceFromThePartnersBudget()
    {
        await SettleMatrixAsync(); // the matrix cell's own release: one, 0.02
        var first = await GammaAsync();

        var released = first["released"]!;
        Assert.False(released["withheld"]!.GetValue<bool>());
        Assert.Equal(["overlapping_opportunities", "potential_revenue", "win_rate", "average_deal_size", "days_to_close"],
            released["releases"]!.AsArray().Select(r => r!["figure"]!.GetValue<string>()));
        Assert.All(released["releases"]!.AsArray(), r => Assert.Equal(("current", 0.02m), (r!["state"]!.GetValue<string>(), r["epsilon"]!.GetValue<decimal>())));
        // The noise is there: a sum with a bound of 2 000 per opportunity (my own amounts) at ε = 0.02 does not come out at the true 2 500.
        Assert.NotEqual(2500m, first["figures"]!["potentialRevenue"]!.GetValue<decimal>());
        Assert.True(released["potentialRevenue"]!["high"]!.GetValue<double>() - released["potentialRevenue"]!["low"]!.GetValue<double>() > 1000);
        var budget = (await _gamma.PrivacyAsync(_toGamma))["budget"]!;
        // The matrix cell, the five figures, and the all-partner coverage that gamma's customers are in.
        Assert.Equal((7, 0.14m), (budget["releases"]!.GetValue<int>(), budget["spent"]!.GetValue<decimal>()));
        var spends = (await AuditAsync(_gamma, "privacy.budget_spent")).Where(e => e["detail"]!["figure"] is not null).ToList();
        Assert.Equal(6, spends.Count);
        Assert.Contains(spends, e => e["detail"]!["figure"]!.GetValue<string>() == "potential_revenue"
                                     && e["detail"]!["myPopulationIds"]!.AsArray().Single()!.GetValue<string>() == _gammaCustomers);

        // Reading again, as often as one likes, shows the same release and spends nothing: averaging learns nothing.
        for (var i = 0; i < 5; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(10));
            var again = await GammaAsync();
            Assert.Equal(first["figures"]!.ToJsonString(), again["figures"]!.ToJsonString());
            Assert.Equal(first["released"]!["releases"]!.ToJsonString(), again["released"]!["releases"]!.ToJsonString());
        }
        Assert.Equal(0.14m, (await _gamma.PrivacyAsync(_toGamma))["budget"]!["spent"]!.GetValue<decimal>());
        Assert.Equal(7, (await AuditAsync(_gamma, "privacy.budget_spent")).Count);
        // Beta, whose cells are at the overlaps level, paid nothing; the spend is in gamma's log only.
        Assert.Equal(0m, (await _beta.PrivacyAsync(_toBeta))["budget"]!["spent"]!.GetValue<decimal>());
        Assert.Empty(await AuditAsync(_beta, "privacy.budget_spent"));
        Assert.Empty(await AuditAsync(_alpha, "privacy.budget_spent"));
    }

    [Fact]
    public async Task TheAmountBoundOfMoneyFiguresComesFromMyOwnAmountsSoTheirMarginIsInProportionToMyDeals()
    {
        var gamma = await GammaAsync();
        var released = gamma["released"]!;

        // My 34 USD amounts: 5 × 500, 17 × 1000, 12 × 2000; the 95th percentile (rank 33) is 2000, on the 1-2-5 grid already.
        Assert.Equal(("own_amounts", 2000L), (released["amountBoundSource"]!.GetValue<string>(), released["amountPerOpportunity"]!.GetValue<long>()));
        Assert.Equal((0L, 0m), (released["openAboveBound"]!.GetValue<long>(), released["openAmountAboveBound"]!.GetValue<decimal>()));
        // A sum's margin is the count's times the bound (the same ε, sensitivity × 2000): about ±300 000, not ±15 million.
        var margins = released["releases"]!.AsArray().ToDictionary(r => r!["figure"]!.GetValue<string>(), r => r!["margins"]![0]!.GetValue<long>());
        Assert.InRange(margins["potential_revenue"] / (double)margins["overlapping_opportunities"], 1990, 2010);
        Assert.InRange(margins["potential_revenue"], 1, 2000L * 200);
    }

    [Fact]
    public async Task WhenThePartnersBudgetIsSpentTheLastReleaseIsShownWithItsDateAndWithoutOneTheFiguresAreWithheld()
    {
        await SettleMatrixAsync();
        var first = await GammaAsync();
        await SpendAllAsync();
        var releasedAt = first["released"]!["releases"]![0]!["releasedAt"]!.GetValue<DateTimeOffset>();

        // New data on my side and the refresh interval (7 days) past: a new draw is due, and the budget cannot pay for it.
        await _alpha.UploadOkAsync(_pipeline, Records.Ndjson(Pipeline()));
        _clock.Advance(TimeSpan.FromDays(8));
        await ReloginAsync(_alpha);
        await ReloginAsync(_gamma);
        var exhausted = await GammaAsync();

        Assert.Equal(first["figures"]!.ToJsonString(), exhausted["figures"]!.ToJsonString());
        var periodEnd = (await _gamma.PrivacyAsync(_toGamma))["budget"]!["periodEnd"]!.GetValue<DateTimeOffset>();
        Assert.All(exhausted["released"]!["releases"]!.AsArray(), r =>
        {
            Assert.Equal("budget_exhausted", r!["state"]!.GetValue<string>());
            Assert.Equal(releasedAt, r["releasedAt"]!.GetValue<DateTimeOffset>());
            Assert.Equal(periodEnd, r["refreshesAt"]!.GetValue<DateTimeOffset>());
        });

        // Another period was never released: nothing to show until the budget's next period.
        var other = await GammaAsync("2026-Q2");
        Assert.Null(other["figures"]);
        Assert.True(other["released"]!["withheld"]!.GetValue<bool>());
        Assert.All(other["released"]!["releases"]!.AsArray(), r => Assert.Equal("withheld", r!["state"]!.GetValue<string>()));
        Assert.Equal(0, (await _gamma.PrivacyAsync(_toGamma))["budget"]!["remaining"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task AReleaseRestingOnAPopulationThePartnerHidesSinceIsNoLongerShown()
    {
        var more = await _gamma.CreatePopulationAsync("More customers");
        await _gamma.UploadOkAsync(more, Records.Range("M", 0, 5));
        await _gamma.ShareAsync(more, "counts");
        await SettleMatrixAsync();
        Assert.NotNull((await GammaAsync())["figures"]); // five releases over both populations
        await SpendAllAsync();

        await _gamma.ShareAsync(more, "hidden");
        var gamma = await GammaAsync();

        // The budget cannot pay for figures over the one population left, and the last ones rest on the hidden one too.
        Assert.Equal("counts_only", gamma["access"]!.GetValue<string>());
        Assert.Null(gamma["figures"]);
        Assert.True(gamma["released"]!["withheld"]!.GetValue<bool>());
    }

    private async Task<JsonNode> PipelineAsync(Org org, string period = "2026-Q1")
    {
        var response = await org.Http.GetAsync($"/v1/health/pipeline?period={period}");
        await Expect(response, HttpStatusCode.OK);
        return await Json(response);
    }

    private static List<JsonNode> OverallSpends(IEnumerable<JsonNode> spends) =>
        spends.Where(e => e["detail"]!["figure"]?.GetValue<string>() == "overall_coverage").ToList();

    [Fact]
    public async Task ACountsOnlyPartnerCountsInTheOverallCoverageOnlyThroughOneNoisedReleaseChargedToEachSuchPartner()
    {
        // A second counts-only partner, delta, with customers on the accounts of O5…O9 too.
        var delta = await _app.SignupAsync("delta");
        var deltaCustomers = await delta.CreatePopulationAsync("Customers");
        await delta.UploadOkAsync(deltaCustomers, Records.Range("D", 20, 5));
        await delta.ShareAsync(deltaCustomers, "counts");
        var toDelta = await _alpha.PartnerAsync(delta);
        await SettleMatrixAsync();
        await _alpha.MatrixAsync(toDelta);
        // The refreshes delta's upload, sharing and partnering queued drawn before the read: the seeded noise is the same
        // only while the draws come in the same order (a PostgreSQL pass under load once had a refresh draw in between, and
        // delta's released count fell below its minimum).
        await _app.RefreshedAsync();
        var gammaBefore = (await _gamma.PrivacyAsync(_toGamma))["budget"]!["spent"]!.GetValue<decimal>();
        var deltaBefore = (await delta.PrivacyAsync(toDelta))["budget"]!["spent"]!.GetValue<decimal>();

        var report = await PipelineAsync(_alpha);

        Assert.Equal(0, report["partnersLeftOut"]!.GetValue<int>());
        Assert.Empty(report["leftOut"]!.AsArray());
        var released = report["overallReleased"]!;
        Assert.Equal(new[] { _toGamma, toDelta }.Order(StringComparer.Ordinal), released["chargedPartnershipIds"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Equal(("overall_coverage", "current", 0.02m), (released["release"]!["figure"]!.GetValue<string>(), released["release"]!["state"]!.GetValue<string>(),
            released["release"]!["epsilon"]!.GetValue<decimal>()));
        Assert.All(released["release"]!["margins"]!.AsArray(), m => Assert.True(m!.GetValue<long>() > 0));
        // Beta's O0…O4 (overlaps level, exact) are in it for sure: the released count lies between those 5 and my 10 open ones.
        var overall = report["overall"]!;
        Assert.InRange(overall["coveredCount"]!.GetValue<int>(), 5, 10);
        Assert.True(released["coveredCount"]!["low"]!.GetValue<double>() >= 5);
        // Each partner paid the release's ε once (on top of its own five figures), and its log says so, naming only its own population.
        Assert.Equal(gammaBefore + 0.12m, (await _gamma.PrivacyAsync(_toGamma))["budget"]!["spent"]!.GetValue<decimal>());
        Assert.Equal(deltaBefore + 0.12m, (await delta.PrivacyAsync(toDelta))["budget"]!["spent"]!.GetValue<decimal>());
        var gammaSpend = Assert.Single(OverallSpends(await AuditAsync(_gamma, "privacy.budget_spent")));
        Assert.Equal([_gammaCustomers], gammaSpend["detail"]!["myPopulationIds"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.DoesNotContain(toDelta, gammaSpend.ToJsonString());
        Assert.Single(OverallSpends(await AuditAsync(delta, "privacy.budget_spent")));
        Assert.Empty(OverallSpends(await AuditAsync(_beta, "privacy.budget_spent")));
        // One partnership's report: its coverage is the partner's own released figures, not one more release.
        var one = await Json(await _alpha.Http.GetAsync($"/v1/partnerships/{_toGamma}/health/pipeline?period=2026-Q1"));
        Assert.Null(one["overallReleased"]);
        Assert.Equal(one["partners"]![0]!["figures"]!["coverage"]!.ToJsonString(), one["overall"]!.ToJsonString());

        // Read again: the same release, nothing more spent (averaging reads learns nothing).
        _clock.Advance(TimeSpan.FromMinutes(10));
        var again = await PipelineAsync(_alpha);
        Assert.Equal(overall.ToJsonString(), again["overall"]!.ToJsonString());
        Assert.Equal(gammaBefore + 0.12m, (await _gamma.PrivacyAsync(_toGamma))["budget"]!["spent"]!.GetValue<decimal>());
        Assert.Single(OverallSpends(await AuditAsync(_gamma, "privacy.budget_spent")));
    }

    [Fact]
    public async Task TheOverallCoverageOverOverlapsLevelPartnersAloneStaysExactAndSpendsNothing()
    {
        // Beta alone (overlaps level): O0…O4 of my 10 open opportunities, 5 × 1000 of 7 500.
        var beta = await Json(await _alpha.Http.GetAsync($"/v1/partnerships/{_toBeta}/health/pipeline?period=2026-Q1"));
        Assert.Equal((5, 10, 5000m, 7500m), (beta["overall"]!["coveredCount"]!.GetValue<int>(), beta["overall"]!["openCount"]!.GetValue<int>(),
            beta["overall"]!["coveredAmount"]!.GetValue<decimal>(), beta["overall"]!["openAmount"]!.GetValue<decimal>()));
        Assert.Null(beta["overallReleased"]);

        // Gamma chooses exact counts for me: its counts-only cell is in no figure (an exact sum over it would say which of
        // my accounts it has), so the overall coverage is beta's alone, exact, gamma named as left out, and nobody pays.
        await _gamma.SetPrivacyAsync(_toGamma, new { exactCounts = true, confirmExactCounts = true });
        var all = await PipelineAsync(_alpha);
        Assert.Null(all["overallReleased"]);
        Assert.Equal((5, 5000m), (all["overall"]!["coveredCount"]!.GetValue<int>(), all["overall"]!["coveredAmount"]!.GetValue<decimal>()));
        var left = Assert.Single(all["leftOut"]!.AsArray())!;
        Assert.Equal((_toGamma, "exact_counts"), (left["partnershipId"]!.GetValue<string>(), left["reason"]!.GetValue<string>()));
        Assert.Empty(OverallSpends(await AuditAsync(_gamma, "privacy.budget_spent")));
        Assert.Empty(OverallSpends(await AuditAsync(_beta, "privacy.budget_spent")));
    }

    [Fact]
    public async Task APartnerWhoseMinimumWithholdsItsFiguresIsLeftOutOfTheOverallCoverageTooAndNamed()
    {
        // Gamma's 17 customers carry 17 of alpha's opportunities, far below a minimum of 1,000: its figures are withheld,
        // and an all-partner coverage resting on it would show its covered count all the same (trial 7, F4).
        var sharing = await _gamma.Http.PutAsJsonAsync($"/v1/populations/{_gammaCustomers}/sharing", new { level = "counts", fields = Array.Empty<string>(), minimumCount = 1000 });
        await Expect(sharing, HttpStatusCode.OK);

        var report = await PipelineAsync(_alpha);

        var gamma = report["partners"]!.AsArray().Single(p => p!["partnershipId"]!.GetValue<string>() == _toGamma)!;
        Assert.Equal("minimum", gamma["released"]!["withheldBecause"]!.GetValue<string>());
        var left = Assert.Single(report["leftOut"]!.AsArray())!;
        Assert.Equal((_toGamma, "minimum"), (left["partnershipId"]!.GetValue<string>(), left["reason"]!.GetValue<string>()));
        // Over beta alone, exactly: no release of the coverage, nothing spent on it.
        Assert.Null(report["overallReleased"]);
        Assert.Equal((5, 5000m), (report["overall"]!["coveredCount"]!.GetValue<int>(), report["overall"]!["coveredAmount"]!.GetValue<decimal>()));
        Assert.Empty(OverallSpends(await AuditAsync(_gamma, "privacy.budget_spent")));
        var lines = (await Json(await _alpha.Http.GetAsync("/v1/health/report?period=2026-Q1")))["lines"]!.AsArray();
        string Line(string measure) => lines.Single(l => l!["measure"]!.GetValue<string>() == measure)!["value"]!.GetValue<string>();
        Assert.Equal(("1", "0"), (Line("partners_left_out_minimum"), Line("partners_left_out_budget_exhausted")));
    }

    [Fact]
    public async Task APartnerWhoseBudgetCannotPayIsLeftOutOfTheOverallCoverageAndNamedAndTheRestStaysExact()
    {
        await SettleMatrixAsync();
        await SpendAllAsync();

        var report = await PipelineAsync(_alpha);

        Assert.Equal(1, report["partnersLeftOut"]!.GetValue<int>());
        var left = Assert.Single(report["leftOut"]!.AsArray())!;
        Assert.Equal((_toGamma, "gamma", "budget_exhausted"), (left["partnershipId"]!.GetValue<string>(), left["partner"]!["slug"]!.GetValue<string>(),
            left["reason"]!.GetValue<string>()));
        // Over beta alone, exactly: no release, nothing spent by anyone.
        Assert.Null(report["overallReleased"]);
        Assert.Equal((5, 5000m), (report["overall"]!["coveredCount"]!.GetValue<int>(), report["overall"]!["coveredAmount"]!.GetValue<decimal>()));
        Assert.Empty(OverallSpends(await AuditAsync(_gamma, "privacy.budget_spent")));
        var lines = (await Json(await _alpha.Http.GetAsync("/v1/health/report?period=2026-Q1")))["lines"]!.AsArray();
        Assert.Equal("1", lines.Single(l => l!["measure"]!.GetValue<string>() == "partners_left_out_budget_exhausted")!["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task AfterTheOverallCoverageWasReleasedAPartnerOutOfBudgetIsLeftOutOfTheNextDrawAndTheOthersStillPay()
    {
        var delta = await _app.SignupAsync("delta");
        var deltaCustomers = await delta.CreatePopulationAsync("Customers");
        await delta.UploadOkAsync(deltaCustomers, Records.Range("D", 0, 3));
        // A minimum of 1 and sharp releases: delta's three covered opportunities stay above its minimum whatever the draw
        // (below it, delta would be left out too, for its minimum).
        await Expect(await delta.Http.PutAsJsonAsync($"/v1/populations/{deltaCustomers}/sharing", new { level = "counts", minimumCount = 1 }), HttpStatusCode.OK);
        var toDelta = await _alpha.PartnerAsync(delta);
        await delta.SetPrivacyAsync(toDelta, new { epsilonPerPeriod = 100, epsilonPerRelease = 5 });
        Assert.Equal(2, (await PipelineAsync(_alpha))["overallReleased"]!["chargedPartnershipIds"]!.AsArray().Count);
        await SpendAllAsync();

        // New data of mine, the refresh interval past: a new draw is due, and gamma cannot pay for it.
        await _alpha.UploadOkAsync(_pipeline, Records.Ndjson(Pipeline()));
        _clock.Advance(TimeSpan.FromDays(8));
        await ReloginAsync(_alpha);
        await ReloginAsync(_gamma);
        await ReloginAsync(delta);
        var report = await PipelineAsync(_alpha);

        Assert.Equal(_toGamma, Assert.Single(report["leftOut"]!.AsArray())!["partnershipId"]!.GetValue<string>());
        Assert.Equal([toDelta], report["overallReleased"]!["chargedPartnershipIds"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Equal(2, OverallSpends(await AuditAsync(delta, "privacy.budget_spent")).Count);
        Assert.Single(OverallSpends(await AuditAsync(_gamma, "privacy.budget_spent")));
    }

    [Fact]
    public async Task TheReportMarksNoisedPartnersAndGivesTheNoiseRangeBesideTheValue()
    {
        var lines = (await Json(await _alpha.Http.GetAsync("/v1/health/report?period=2026-Q1")))["lines"]!.AsArray();

        var kind = lines.Single(l => l!["measure"]!.GetValue<string>() == "figures" && l["partner"]?.GetValue<string>() == "gamma Inc.")!;
        Assert.Equal("noised", kind["value"]!.GetValue<string>());
        var revenue = lines.Single(l => l!["measure"]!.GetValue<string>() == "potential_revenue_USD" && l["partner"]?.GetValue<string>() == "gamma Inc.")!;
        Assert.NotNull(revenue["low"]);
        Assert.NotNull(revenue["high"]);
        Assert.Equal("exact", lines.Single(l => l!["measure"]!.GetValue<string>() == "figures" && l["partner"]?.GetValue<string>() == "beta Inc.")!["value"]!.GetValue<string>());
        // The all-partner coverage rests on gamma too: noised, with its range.
        Assert.Equal("noised", lines.Single(l => l!["section"]!.GetValue<string>() == "coverage" && l["measure"]!.GetValue<string>() == "figures")!["value"]!.GetValue<string>());
        var covered = lines.Single(l => l!["measure"]!.GetValue<string>() == "covered_opportunities")!;
        Assert.NotNull(covered["low"]);
        Assert.NotNull(covered["high"]);
    }
}
