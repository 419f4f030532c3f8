using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Domain.Privacy;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Privacy-protected counts through the API (docs/privacy.md): one released value per cell and data, the same in the
/// matrix, the history and the webhook payload; budgets per owner, partner and period; the owner's settings; and the
/// attacks of docs/threat-model.md at small scale, which no longer read the answer off exactly.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class PrivacyTests : IAsyncLifetime
{
    // Inside a 30-day budget period (periods run from the Unix epoch: this one is 2026-11-08 to 2026-12-08).
    private static readonly DateTimeOffset Start = new(2026, 11, 9, 6, 0, 0, TimeSpan.Zero);
    private readonly ManualTimeProvider _clock = new(Start);
    private WebhookReceiver _receiver = null!;
    private readonly List<EscrowApp> _apps = [];

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var app in _apps) app.Dispose();
        await _receiver.DisposeAsync();
    }

    /// <summary>A service on the manual clock, with deterministic noise, room for many signups and day-long access tokens.</summary>
    private EscrowApp App(params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["Escrow:Outbound:AllowPrivateNetworks"] = "true",
            ["Escrow:Webhooks:DeliveryWorker"] = "false",
            ["Escrow:RateLimits:SignupPerAddress:PermitLimit"] = "1000",
            ["Escrow:RateLimits:LoginPerAddress:PermitLimit"] = "1000",
            ["Escrow:AccessTokenMinutes"] = "1440",
            // No schedule polling on the manual clock: a jump of weeks to the next refresh or budget period would fire its
            // five-second timer hundreds of thousands of times, each a query (minutes of a test doing nothing).
            ["Escrow:Schedules:PollSeconds"] = "0",
        };
        foreach (var (key, value) in settings) all[key] = value;
        var app = new EscrowApp(all, time: _clock) { RandomSeed = 2026 };
        _apps.Add(app);
        return app;
    }

    private static string Accounts(string prefix, IEnumerable<int> numbers) =>
        Records.Ndjson(numbers.Select(i => new Records.Account($"{prefix}-{i:D5}", Domain: $"d{i}.example")));

    /// <summary>Logs the organization's admin in again (after the manual clock has passed its access token's lifetime).</summary>
    private static async Task ReloginAsync(EscrowApp app, Org org)
    {
        var login = await app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email = $"admin@{org.Slug}.example", password = Password });
        await Expect(login, HttpStatusCode.OK);
        org.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Json(login))["accessToken"]!.GetValue<string>());
    }

    private static async Task<JsonObject> HistoryCellAsync(Org org, string partnership, string mine, string theirs)
    {
        var response = await org.Http.GetAsync($"/v1/partnerships/{partnership}/overlaps/history");
        await Expect(response, HttpStatusCode.OK);
        return (await Json(response))["cells"]!.AsArray().Single(c => c!["myPopulationId"]!.GetValue<string>() == mine
                                                                      && c["partnerPopulationId"]!.GetValue<string>() == theirs)!.AsObject();
    }

    private static async Task<int> AuditCountAsync(Org org, string action) =>
        (await Json(await org.Http.GetAsync("/v1/audit?limit=1000")))["items"]!.AsArray().Count(e => e!["action"]!.GetValue<string>() == action);

    [Fact]
    public void TheServiceDrawsItsNoiseFromTheOperatingSystemsSecureGenerator()
    {
        using var app = new EscrowApp();
        Assert.IsType<SecureRandomBits>(app.Services.GetRequiredService<IRandomBits>());
    }

    [Fact]
    public async Task TheMatrixTheHistoryAndTheWebhookPayloadOfOneCellCarryTheSameReleasedValue()
    {
        var app = App();
        var alpha = await app.SignupAsync("cons-alpha");
        var beta = await app.SignupAsync("cons-beta");
        await CreateWebhookAsync(alpha, _receiver.BaseUrl + "/consistency");
        var theirs = await beta.CreatePopulationAsync("Customers");
        await beta.UploadOkAsync(theirs, Accounts("B", Enumerable.Range(0, 600)));
        await beta.ShareAsync(theirs, "counts");
        var mine = await alpha.CreatePopulationAsync("Customers");
        await alpha.UploadOkAsync(mine, Accounts("A", Enumerable.Range(0, 600)));
        var partnership = await alpha.PartnerAsync(beta);
        await app.RefreshedAsync();
        await app.DeliverDueAsync();

        var cell = (await alpha.MatrixAsync(partnership)).Cell(mine, theirs)!;
        var value = cell["count"]!.GetValue<int>();
        Assert.InRange(value, 600 - 400, 600 + 400); // noised around 600 (±115 at 90 %)
        var releasedAt = cell["privacy"]!["releasedAt"]!.GetValue<DateTimeOffset>();
        var notice = Assert.Single(_receiver.On("/consistency")).Json["data"]!["cells"]!.AsArray().Single()!;
        Assert.Equal(value, notice["count"]!.GetValue<int>());
        Assert.Equal(cell["privacy"]!.ToJsonString(), notice["privacy"]!.ToJsonString());
        var point = (await HistoryCellAsync(alpha, partnership, mine, theirs))["points"]!.AsArray().Single()!;
        Assert.Equal((value, releasedAt), (point["count"]!.GetValue<int>(), point["at"]!.GetValue<DateTimeOffset>()));
        Assert.True(point["protected"]!.GetValue<bool>());
        Assert.Equal(115, point["marginOfError"]!.GetValue<int>());

        // Reading again, from any endpoint, returns the same value and spends nothing: there is nothing to average.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(cell.ToJsonString(), (await alpha.MatrixAsync(partnership)).Cell(mine, theirs)!.ToJsonString());
            Assert.Single((await HistoryCellAsync(alpha, partnership, mine, theirs))["points"]!.AsArray());
        }
        Assert.Equal(1, (await beta.PrivacyAsync(partnership))["budget"]!["releases"]!.GetValue<int>());
        Assert.Equal(1, await AuditCountAsync(beta, "privacy.budget_spent"));

        // The data changes within the refresh interval: every endpoint keeps the released value, and no event comes.
        await alpha.UploadOkAsync(mine, Accounts("A", Enumerable.Range(0, 650)));
        await app.RefreshedAsync();
        await app.DeliverDueAsync();
        var waiting = (await alpha.MatrixAsync(partnership)).Cell(mine, theirs)!;
        Assert.Equal(value, waiting["count"]!.GetValue<int>());
        Assert.Equal("data_changed", waiting["privacy"]!["state"]!.GetValue<string>());
        Assert.Equal(releasedAt.AddDays(7), waiting["privacy"]!["refreshesAt"]!.GetValue<DateTimeOffset>());
        Assert.Single(_receiver.On("/consistency"));
        Assert.Equal(value, (await HistoryCellAsync(alpha, partnership, mine, theirs))["points"]!.AsArray()[^1]!["count"]!.GetValue<int>());

        // Once it has passed, the next read releases a new value: the history ends with it, and the webhook carries it.
        _clock.Advance(TimeSpan.FromDays(7));
        await ReloginAsync(app, alpha);
        await ReloginAsync(app, beta);
        var fresh = (await alpha.MatrixAsync(partnership)).Cell(mine, theirs)!;
        var next = fresh["count"]!.GetValue<int>();
        Assert.Equal("current", fresh["privacy"]!["state"]!.GetValue<string>());
        Assert.Equal(_clock.GetUtcNow(), fresh["privacy"]!["releasedAt"]!.GetValue<DateTimeOffset>());
        await app.DeliverDueAsync();
        var events = _receiver.On("/consistency").ToList();
        if (next != value)
        {
            Assert.Equal(2, events.Count);
            var second = events.OrderBy(e => e.Id, StringComparer.Ordinal).Last().Json["data"]!["cells"]![0]!;
            Assert.Equal((next, value), (second["count"]!.GetValue<int>(), second["previousCount"]!.GetValue<int>()));
        }
        var points = (await HistoryCellAsync(alpha, partnership, mine, theirs))["points"]!.AsArray();
        Assert.Equal(next, points[^1]!["count"]!.GetValue<int>());
        Assert.Equal(2, (await beta.PrivacyAsync(partnership))["budget"]!["releases"]!.GetValue<int>());
    }

    [Fact]
    public async Task ConcurrentReadsOfANewCellReleaseItOnceAndSpendOnce()
    {
        var app = App();
        var alpha = await app.SignupAsync("conc-alpha");
        var beta = await app.SignupAsync("conc-beta");
        var theirs = await beta.CreatePopulationAsync("Customers");
        await beta.UploadOkAsync(theirs, Accounts("B", Enumerable.Range(0, 300)));
        var partnership = await alpha.PartnerAsync(beta);
        var mine = await alpha.CreatePopulationAsync("Customers");
        await alpha.UploadOkAsync(mine, Accounts("A", Enumerable.Range(0, 300)));
        await app.RefreshedAsync();
        // Shared now, read at once by many requests (and by the refresher the change queued).
        await beta.ShareAsync(theirs, "counts");
        var cells = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(async () => (await alpha.MatrixAsync(partnership)).Cell(mine, theirs)!.ToJsonString())));
        await app.RefreshedAsync();

        Assert.Single(cells.Distinct());
        var budget = (await beta.PrivacyAsync(partnership))["budget"]!;
        Assert.Equal((1, 0.02m), (budget["releases"]!.GetValue<int>(), budget["spent"]!.GetValue<decimal>()));
        Assert.Equal(1, await AuditCountAsync(beta, "privacy.budget_spent"));
    }

    [Fact]
    public async Task AWholePeriodsBudgetIsSpentOnceThenCellsKeepTheirLastValueUntilTheNextPeriod()
    {
        // No refresh interval (a setting the owner may choose), so every new version asks for a new value: the budget
        // is what stops an attacker uploading version after version.
        var app = App(("Escrow:Privacy:RefreshIntervalMinutes", "0"));
        var alpha = await app.SignupAsync("budget-alpha");
        var beta = await app.SignupAsync("budget-beta");
        var gamma = await app.SignupAsync("budget-gamma");
        var theirs = await beta.CreatePopulationAsync("Customers");
        await beta.UploadOkAsync(theirs, Accounts("B", Enumerable.Range(0, 100)));
        await beta.ShareAsync(theirs, "counts");
        var probe = await alpha.CreatePopulationAsync("Probe");
        await alpha.UploadOkAsync(probe, Accounts("A", [42]));
        var partnership = await alpha.PartnerAsync(beta);

        JsonNode? last = null;
        for (var version = 0; version < 35; version++)
        {
            await alpha.UploadOkAsync(probe, Accounts("A" + version, [42]));
            var cell = (await alpha.MatrixAsync(partnership)).Cell(probe, theirs)!;
            if (version < 29) Assert.Equal("current", cell["privacy"]!["state"]!.GetValue<string>());
            last = cell;
        }
        await app.RefreshedAsync();

        // Thirty releases of 0.02 spend the 0.6 of the period exactly, never more; then the last value stays, marked.
        var report = await beta.PrivacyAsync(partnership);
        Assert.Equal((30, 0.6m, 0m, 0L), (report["budget"]!["releases"]!.GetValue<int>(), report["budget"]!["spent"]!.GetValue<decimal>(),
            report["budget"]!["remaining"]!.GetValue<decimal>(), report["budget"]!["releasesRemaining"]!.GetValue<long>()));
        Assert.Equal(30, await AuditCountAsync(beta, "privacy.budget_spent"));
        var periodEnd = report["budget"]!["periodEnd"]!.GetValue<DateTimeOffset>();
        Assert.Equal("budget_exhausted", last!["privacy"]!["state"]!.GetValue<string>());
        Assert.Equal(periodEnd, last["privacy"]!["refreshesAt"]!.GetValue<DateTimeOffset>());
        Assert.NotNull(last["privacy"]!["releasedAt"]);
        // Another partner of the owner draws on its own budget.
        var gammaProbe = await gamma.CreatePopulationAsync("Probe");
        await gamma.UploadOkAsync(gammaProbe, Accounts("G", [42]));
        var gammaPartnership = await gamma.PartnerAsync(beta);
        Assert.Equal("current", (await gamma.MatrixAsync(gammaPartnership)).Cell(gammaProbe, theirs)!["privacy"]!["state"]!.GetValue<string>());
        Assert.Equal(0.02m, (await beta.PrivacyAsync(gammaPartnership))["budget"]!["spent"]!.GetValue<decimal>());
        // A new period, a new budget: the next read releases again.
        _clock.SetUtcNow(periodEnd);
        await ReloginAsync(app, alpha);
        await ReloginAsync(app, beta);
        var renewed = (await alpha.MatrixAsync(partnership)).Cell(probe, theirs)!;
        Assert.Equal("current", renewed["privacy"]!["state"]!.GetValue<string>());
        Assert.Equal(periodEnd, renewed["privacy"]!["releasedAt"]!.GetValue<DateTimeOffset>());
        var next = await beta.PrivacyAsync(partnership);
        Assert.Equal((periodEnd, 1), (next["budget"]!["periodStart"]!.GetValue<DateTimeOffset>(), next["budget"]!["releases"]!.GetValue<int>()));
    }

    [Fact]
    public async Task TheOwnerSeesItsBudgetAndSettingsPerPartnerAndCanAdjustThem()
    {
        var app = App();
        var alpha = await app.SignupAsync("set-alpha");
        var beta = await app.SignupAsync("set-beta");
        var theirs = await beta.CreatePopulationAsync("Customers");
        await beta.UploadOkAsync(theirs, Accounts("B", Enumerable.Range(0, 50)));
        await beta.ShareAsync(theirs, "counts");
        var partnership = await alpha.PartnerAsync(beta);

        var report = await beta.PrivacyAsync(partnership);
        var settings = report["settings"]!;
        Assert.Equal((0.6m, 0.02m, 10080L, false), (settings["epsilonPerPeriod"]!.GetValue<decimal>(), settings["epsilonPerRelease"]!.GetValue<decimal>(),
            settings["refreshIntervalMinutes"]!.GetValue<long>(), settings["exactCounts"]!.GetValue<bool>()));
        Assert.Equal((30L, 0.2913, 115, 35), (settings["releasesPerPeriod"]!.GetValue<long>(), settings["advantageBound"]!.GetValue<double>(),
            settings["marginOfError"]!.GetValue<int>(), settings["medianError"]!.GetValue<int>()));
        Assert.Equal(settings.ToJsonString(), report["defaults"]!.ToJsonString());
        Assert.Equal([theirs], report["countsPopulationIds"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Empty(report["warnings"]!.AsArray());
        Assert.Null(report["overrides"]!["epsilonPerPeriod"]);

        // Out of bounds: each field named.
        var invalid = await ExpectProblem(await beta.Http.PutAsJsonAsync($"/v1/partnerships/{partnership}/privacy",
            new { epsilonPerPeriod = 0, epsilonPerRelease = 0.0001, refreshIntervalMinutes = -1 }), HttpStatusCode.BadRequest);
        Assert.Equal("urn:overlap-escrow:problem:validation", invalid["type"]!.GetValue<string>());
        foreach (var field in new[] { "epsilonPerPeriod", "epsilonPerRelease", "refreshIntervalMinutes" }) Assert.NotNull(invalid["errors"]![field]);

        // A weaker guarantee is allowed, with a warning that states it.
        var weaker = await beta.SetPrivacyAsync(partnership, new { epsilonPerPeriod = 2, refreshIntervalMinutes = 60 });
        Assert.Equal(0.7616, weaker["settings"]!["advantageBound"]!.GetValue<double>());
        Assert.Contains("0.76", Assert.Single(weaker["warnings"]!.AsArray())!.GetValue<string>());
        Assert.Equal(2m, weaker["overrides"]!["epsilonPerPeriod"]!.GetValue<decimal>());
        Assert.Null(weaker["overrides"]!["epsilonPerRelease"]);
        Assert.Equal(1, await AuditCountAsync(beta, "privacy.settings_updated"));

        // A viewer (member role) may read but not change them; another organization reaches nothing.
        var viewer = await app.MemberAsync(beta, "viewer");
        await Expect(await viewer.GetAsync($"/v1/partnerships/{partnership}/privacy"), HttpStatusCode.OK);
        await ExpectProblem(await viewer.PutAsJsonAsync($"/v1/partnerships/{partnership}/privacy", new { epsilonPerPeriod = 1 }), HttpStatusCode.Forbidden);
        var gamma = await app.SignupAsync("set-gamma");
        await ExpectProblem(await gamma.Http.GetAsync($"/v1/partnerships/{partnership}/privacy"), HttpStatusCode.NotFound);
        await ExpectProblem(await gamma.Http.PutAsJsonAsync($"/v1/partnerships/{partnership}/privacy", new { epsilonPerPeriod = 1 }), HttpStatusCode.NotFound);

        // Each side sees its own budget as an owner, never the other's.
        var mine = await alpha.CreatePopulationAsync("Customers");
        await alpha.UploadOkAsync(mine, Accounts("A", Enumerable.Range(0, 50)));
        await alpha.MatrixAsync(partnership);
        Assert.Equal(1, (await beta.PrivacyAsync(partnership))["budget"]!["releases"]!.GetValue<int>());
        var alphaReport = await alpha.PrivacyAsync(partnership);
        Assert.Equal(0, alphaReport["budget"]!["releases"]!.GetValue<int>());
        Assert.Empty(alphaReport["countsPopulationIds"]!.AsArray());
        Assert.Equal(0.6m, alphaReport["settings"]!["epsilonPerPeriod"]!.GetValue<decimal>()); // beta's settings are beta's

        // After the end, the settings stay readable but no longer change.
        await Expect(await alpha.Http.PostAsync($"/v1/partnerships/{partnership}/terminate", null), HttpStatusCode.OK);
        await ExpectProblem(await beta.Http.PutAsJsonAsync($"/v1/partnerships/{partnership}/privacy", new { epsilonPerPeriod = 1 }), HttpStatusCode.Conflict);
        await Expect(await beta.Http.GetAsync($"/v1/partnerships/{partnership}/privacy"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task ExactCountsAreOnlyAnExplicitChoiceWithAWarningAndTurningThemOffWithdrawsThemAtOnce()
    {
        var app = App();
        var alpha = await app.SignupAsync("exact-alpha");
        var beta = await app.SignupAsync("exact-beta");
        var theirs = await beta.CreatePopulationAsync("Customers");
        await beta.UploadOkAsync(theirs, Accounts("B", Enumerable.Range(0, 50)));
        await beta.ShareAsync(theirs, "counts");
        var mine = await alpha.CreatePopulationAsync("Customers");
        await alpha.UploadOkAsync(mine, Accounts("A", Enumerable.Range(20, 50))); // 30 overlap
        var partnership = await alpha.PartnerAsync(beta);
        var noised = (await alpha.MatrixAsync(partnership)).Cell(mine, theirs)!;
        Assert.True(noised["privacy"]!["protected"]!.GetValue<bool>());

        var unconfirmed = await ExpectProblem(await beta.Http.PutAsJsonAsync($"/v1/partnerships/{partnership}/privacy", new { exactCounts = true }),
            HttpStatusCode.BadRequest);
        Assert.Contains("not privacy-protected", unconfirmed["errors"]!["confirmExactCounts"]![0]!.GetValue<string>());

        var exact = await beta.SetPrivacyAsync(partnership, new { exactCounts = true, confirmExactCounts = true });
        Assert.Contains("not privacy-protected", Assert.Single(exact["warnings"]!.AsArray())!.GetValue<string>());
        Assert.Equal(1.0, exact["settings"]!["advantageBound"]!.GetValue<double>());
        // At once, without waiting for the refresh interval: the exact count, marked as not protected.
        var cell = (await alpha.MatrixAsync(partnership)).Cell(mine, theirs)!;
        Assert.Equal(30, cell["count"]!.GetValue<int>());
        Assert.False(cell["privacy"]!["protected"]!.GetValue<bool>());
        Assert.Equal(30, (await HistoryCellAsync(alpha, partnership, mine, theirs))["points"]!.AsArray()[^1]!["count"]!.GetValue<int>());

        // Turned off: the exact value is withdrawn at once, from the matrix and the history.
        await beta.SetPrivacyAsync(partnership, new { });
        var again = (await alpha.MatrixAsync(partnership)).Cell(mine, theirs)!;
        Assert.True(again["privacy"]!["protected"]!.GetValue<bool>());
        var history = await HistoryCellAsync(alpha, partnership, mine, theirs);
        Assert.All(history["points"]!.AsArray(), p => Assert.True(p!["protected"]!.GetValue<bool>()));
        Assert.DoesNotContain(history["points"]!.AsArray(), p => p!["count"]?.GetValue<int>() == 30 && p["protected"]?.GetValue<bool>() == false);
    }

    /// <summary>
    /// One trial of the attacks of docs/threat-model.md with a fresh attacker against the same owner (each attacker has
    /// its own budget): the owner's Customers hold d0…d99 (minimum 5) and "Customers, minimum 1" the same accounts
    /// (an owner who lowered the minimum); the target account is d42 (in) or d900 (out).
    /// </summary>
    private sealed record Observation(int? Probe, int? Padded, int? WithTarget, int? WithoutTarget, int? FirstVersion, int? SecondVersion, string SecondVersionState);

    private static async Task<Observation> AttackAsync(EscrowApp app, Org owner, string customers, string lowMinimum, int trial, bool member)
    {
        var attacker = await app.SignupAsync($"attacker-{trial}-{(member ? "in" : "out")}");
        var target = member ? 42 : 900;
        int[] known = [.. Enumerable.Range(0, 20)];
        var probe = await attacker.CreatePopulationAsync("Probe");
        var padded = await attacker.CreatePopulationAsync("Padded");
        var withTarget = await attacker.CreatePopulationAsync("With");
        var withoutTarget = await attacker.CreatePopulationAsync("Without");
        var versions = await attacker.CreatePopulationAsync("Versions");
        await attacker.UploadOkAsync(probe, Accounts("P", [target]));                   // read 0 or 1
        await attacker.UploadOkAsync(padded, Accounts("Q", [target, 0, 1, 2, 3]));     // 5 or 4 against a minimum of 5
        await attacker.UploadOkAsync(withTarget, Accounts("W", [.. known, target]));    // two populations that differ by the target
        await attacker.UploadOkAsync(withoutTarget, Accounts("X", known));
        await attacker.UploadOkAsync(versions, Accounts("V", [.. known, target]));      // two versions of one population
        var partnership = await attacker.PartnerAsync(owner);
        var first = await attacker.MatrixAsync(partnership);
        await attacker.UploadOkAsync(versions, Accounts("V", known));
        var second = await attacker.MatrixAsync(partnership);
        int? Count(JsonObject matrix, string mine, string theirs) => matrix.Cell(mine, theirs)!["count"]?.GetValue<int>();
        return new Observation(Count(first, probe, lowMinimum), Count(first, padded, customers), Count(first, withTarget, customers),
            Count(first, withoutTarget, customers), Count(first, versions, customers), Count(second, versions, customers),
            second.Cell(versions, customers)!["privacy"]!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheProbePaddingAndDifferencingAttacksNoLongerReadMembershipOffExactly()
    {
        var app = App();
        var owner = await app.SignupAsync("attacked-owner");
        var customers = await owner.CreatePopulationAsync("Customers");
        var lowMinimum = await owner.CreatePopulationAsync("Customers, minimum 1");
        foreach (var population in new[] { customers, lowMinimum })
            await owner.UploadOkAsync(population, Accounts("O", Enumerable.Range(0, 100)));
        await owner.ShareAsync(customers, "counts");
        await Expect(await owner.Http.PutAsJsonAsync($"/v1/populations/{lowMinimum}/sharing", new { level = "counts", minimumCount = 1 }), HttpStatusCode.OK);

        const int trials = 6; // per answer: 12 attackers, each its own budget
        var results = new List<(bool Member, Observation Seen)>();
        for (var t = 0; t < trials; t++)
            foreach (var member in new[] { true, false })
                results.Add((member, await AttackAsync(app, owner, customers, lowMinimum, t, member)));

        // Each attack's exact decision rule, which read the answer with certainty before counts were noised.
        var rules = new Dictionary<string, Func<Observation, bool>>
        {
            ["one-account probe (minimum 1): a count means in"] = o => o.Probe is not null,
            ["padding (4 known + target, minimum 5): a count means in"] = o => o.Padded is not null,
            ["differencing two populations: a difference of one or more means in"] = o => (o.WithTarget ?? 0) - (o.WithoutTarget ?? 0) >= 1,
            ["differencing two versions: a drop of one or more means in"] = o => (o.FirstVersion ?? 0) - (o.SecondVersion ?? 0) >= 1,
        };
        foreach (var (name, rule) in rules)
        {
            var correct = results.Count(r => rule(r.Seen) == r.Member);
            // Exact counts gave 12 of 12. Each decision rests on one or two releases of ε = 0.02, whose advantage is at
            // most tanh(0.02) ≈ 0.02: all 12 right then has a probability of about 1 in 4,000 per rule. The noise is
            // seeded, but the background refresher draws some releases in an order that varies between runs, so the
            // outcome does: 11 of 12 (about 1 in 300 per rule) came up in a CI run on PostgreSQL, which is why the bar is
            // 12, not 11. scripts/privacy-attacks measures the advantages at scale, with their confidence intervals.
            Assert.True(correct <= 11, $"{name}: {correct} of {results.Count} right");
        }
        // The second version of a population got no fresh value within the refresh interval: nothing to difference.
        Assert.All(results, r => Assert.Equal(r.Seen.FirstVersion, r.Seen.SecondVersion));
        Assert.All(results, r => Assert.Equal("data_changed", r.Seen.SecondVersionState));
    }

    [Fact]
    public async Task TheSubsetSumAttackOnASumOfMyOwnAmountsNoLongerDecodesWhichAccountsAreThePartnersCustomers()
    {
        var app = App();
        var owner = await app.SignupAsync("summed-owner");
        var customers = await owner.CreatePopulationAsync("Customers");
        await owner.UploadOkAsync(customers, Accounts("O", Enumerable.Range(0, 5))); // d0 … d4 are the owner's customers
        await owner.ShareAsync(customers, "counts");

        // The attacker's own ten open opportunities, on five of the owner's customers and five other accounts, with amounts
        // 1, 2, 4, …, 512: an exact potential revenue (a sum of my amounts over the counts-only cell) spells out, bit by
        // bit, which of the ten accounts the owner has (docs/privacy.md, scripts/privacy-attacks).
        int[] accounts = [0, 100, 1, 101, 2, 102, 3, 103, 4, 104];
        async Task<int> DecodedAsync(string slug, bool exact)
        {
            var attacker = await app.SignupAsync(slug);
            var pipeline = await attacker.CreatePopulationAsync("Pipeline", "opportunities");
            await attacker.UploadOkAsync(pipeline, Records.Ndjson(accounts.Select((n, i) => new Records.Account($"OPP-{i}", Domain: $"d{n}.example",
                Attributes: new() { ["amount"] = (1 << i).ToString(CultureInfo.InvariantCulture), ["currency"] = "USD", ["closed"] = "false" }))));
            var partnership = await attacker.PartnerAsync(owner);
            if (exact)
                await Expect(await owner.Http.PutAsJsonAsync($"/v1/partnerships/{partnership}/privacy", new { exactCounts = true, confirmExactCounts = true }),
                    HttpStatusCode.OK);
            var health = await Json(await attacker.Http.GetAsync($"/v1/partnerships/{partnership}/health/pipeline"));
            var figures = health["partners"]!.AsArray().Single(p => p!["partnershipId"]!.GetValue<string>() == partnership)!["figures"];
            var sum = figures is null ? 0 : (long)Math.Clamp(figures["potentialRevenue"]!.GetValue<decimal>(), 0, 1023);
            return accounts.Select((n, i) => ((sum >> i) & 1) == 1 == n < 100).Count(right => right);
        }

        // With exact counts (the owner's choice for counts) the sum read all ten off until 2026-12-03; the figures over a
        // counts-only cell are now withheld instead (no sum: only the five accounts that are not customers "decode", as
        // with no answer at all).
        Assert.Equal(5, await DecodedAsync("summing-exact", exact: true));
        // Released with noise (the default): no better than guessing. Three attackers, 30 accounts; 25 or more right by
        // chance has a probability under 0.02 % (the noise is seeded, but draws may come in another order from run to run).
        var right = 0;
        for (var t = 0; t < 3; t++) right += await DecodedAsync($"summing-{t}", exact: false);
        Assert.True(right <= 24, $"{right} of 30 accounts decoded from the released sum");
    }

    private static async Task CreateWebhookAsync(Org org, string url)
    {
        var response = await org.Http.PostAsJsonAsync("/v1/webhooks", new { url, events = new[] { "overlaps.changed" } });
        await Expect(response, HttpStatusCode.Created);
    }
}
