using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The leadership report's attribution lines (docs/health.md, "Leadership report") from the ledger, through HTTP: alpha
/// claims O-1 (won in January, 1000) as sourced by beta, which confirms, and O-3 (open, 3000) as influenced, which beta
/// disputes. O-2 and O-4 have no claim.
/// </summary>
public sealed class LeadershipReportAttributionTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _clock = new(DateTimeOffset.Parse("2026-01-05T12:00:00Z"));
    private readonly EscrowApp _app;
    private Org _a = null!, _b = null!;
    private string _pipeline = "", _partnership = "";

    public LeadershipReportAttributionTests() => _app = new EscrowApp(new Dictionary<string, string?>(), time: _clock) { RandomSeed = 6 };

    public async Task InitializeAsync()
    {
        _a = await _app.SignupAsync("lead-a");
        _b = await _app.SignupAsync("lead-b");
        _pipeline = await _a.CreatePopulationAsync("Pipeline", "opportunities");
        await _a.UploadOkAsync(_pipeline, Records.Ndjson(
        [
            new Records.Account("O-1", Domain: "d1.example", Attributes: new() { ["amount"] = "1000.00", ["currency"] = "USD",
                ["created_date"] = "2026-01-01", ["close_date"] = "2026-01-31", ["closed"] = "true", ["won"] = "true" }),
            new Records.Account("O-2", Domain: "d2.example", Attributes: new() { ["amount"] = "2000.00", ["currency"] = "USD", ["created_date"] = "2026-03-01" }),
            new Records.Account("O-3", Domain: "d3.example", Attributes: new() { ["amount"] = "3000.00", ["currency"] = "USD", ["created_date"] = "2026-01-01" }),
            new Records.Account("O-4", Domain: "d4.example", Attributes: new() { ["amount"] = "4000.00", ["currency"] = "USD", ["created_date"] = "2026-01-01" }),
        ]));
        var customers = await _b.CreatePopulationAsync("Customers");
        await _b.UploadOkAsync(customers, Records.Ndjson(new[] { 1, 3 }.Select(i => new Records.Account($"B-{i}", Domain: $"d{i}.example"))));
        await _b.ShareAsync(customers, "overlaps");
        _partnership = await _a.PartnerAsync(_b);
        await _app.RefreshedAsync();
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-03-10T09:00:00Z"));
        foreach (var org in new[] { _a, _b })
        {
            org.Http.DefaultRequestHeaders.Authorization = null;
            var login = await org.Http.PostAsJsonAsync("/v1/auth/login", new { email = $"admin@{org.Slug}.example", password = Password });
            await Expect(login, HttpStatusCode.OK);
            org.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Json(login))["accessToken"]!.GetValue<string>());
        }
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    private async Task<string> ClaimAsync(string opportunity, string role)
    {
        var response = await _a.Http.PostAsJsonAsync("/v1/attributions", new { populationId = _pipeline, opportunityId = opportunity, partnershipId = _partnership, role });
        await Expect(response, HttpStatusCode.Created);
        return (await Json(response))["id"]!.GetValue<string>();
    }

    [Fact]
    public async Task TheReportAddsSourcedInfluencedAndDisputedPipelineAndRevenueAndTheAttachRateFromTheLedger()
    {
        await Expect(await _b.Http.PostAsJsonAsync($"/v1/attributions/{await ClaimAsync("O-1", "sourced")}/confirm", new { }), HttpStatusCode.OK);
        await Expect(await _b.Http.PostAsJsonAsync($"/v1/attributions/{await ClaimAsync("O-3", "influenced")}/dispute", new { }), HttpStatusCode.OK);

        var lines = (await Json(await _a.Http.GetAsync("/v1/health/report?period=2026-Q1")))["lines"]!.AsArray();
        string? Value(string measure, string? partner = null) => lines.Single(l => l!["section"]!.GetValue<string>() == "attribution"
            && l["measure"]!.GetValue<string>() == measure && l["partner"]?.GetValue<string>() == partner)!["value"]?.GetValue<string>();

        Assert.Equal("1000", Value("sourced_pipeline_USD"));   // O-1, created in Q1
        Assert.Equal("1000", Value("sourced_revenue_USD"));    // O-1, won in Q1
        Assert.Equal("0", Value("influenced_pipeline_USD"));   // O-3's claim is disputed: not counted …
        Assert.Equal("3000", Value("disputed_pipeline_USD"));  // … but shown apart
        Assert.Equal("1", Value("disputed_pipeline_opportunities"));
        Assert.Equal("0.25", Value("attach_rate"));            // O-1 of O-1…O-4
        Assert.Equal("1000", Value("sourced_revenue_USD", "lead-b Inc."));

        // The partner's report is of its own (empty) pipeline: my claims about it add nothing there.
        var theirs = (await Json(await _b.Http.GetAsync("/v1/health/report?period=2026-Q1")))["lines"]!.AsArray();
        Assert.Equal("0", theirs.Single(l => l!["measure"]!.GetValue<string>() == "sourced_revenue_USD" && l["partner"] is null)!["value"]!.GetValue<string>());
        Assert.Null(theirs.Single(l => l!["measure"]!.GetValue<string>() == "attach_rate")!["value"]);

        var csv = await (await _a.Http.GetAsync("/v1/health/report?period=2026-Q1&format=csv")).Content.ReadAsStringAsync();
        Assert.Contains("attribution,,attach_rate,0.25,,,1,3", csv);
    }
}
