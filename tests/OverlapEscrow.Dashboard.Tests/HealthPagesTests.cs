using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>The pipeline health page shows the API's figures for the signed-in organization, and only its own.</summary>
[Collection(DashboardCollection.Name)]
public sealed class HealthPagesTests(DashboardWorld world)
{
    [Fact]
    public async Task ThePipelinePageShowsTheSameCoverageAsTheApi()
    {
        var api = await EscrowClient.Json(await world.Beta.Http.GetAsync("/v1/health/pipeline?period=2026"));
        var overall = api["overall"]!;
        Assert.True(overall["openCount"]!.GetValue<int>() > 0);

        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Beta));
        await page.GotoAsync("/health?period=2026");

        var text = await page.Locator(".coverage-overall").InnerTextAsync();
        Assert.Contains($"({overall["coveredCount"]!.GetValue<int>().ToString("N0", CultureInfo.InvariantCulture)} of {overall["openCount"]!.GetValue<int>().ToString("N0", CultureInfo.InvariantCulture)})", text);
        var row = page.Locator($"tr[data-partnership='{world.Partnership}']");
        await Assertions.Expect(row).ToContainTextAsync("alpha Inc.");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task TheReportPagesCsvIsTheApisCsvAndItsTableHasTheSameLines()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/health/report?period=2026");
        request.Headers.Accept.ParseAdd("text/csv");
        var apiCsv = await (await world.Beta.Http.SendAsync(request)).Content.ReadAsStringAsync();

        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Beta));
        await page.GotoAsync("/health/report?period=2026");
        var download = await page.APIRequest.GetAsync("/health/report?handler=Csv&period=2026");

        Assert.Equal(200, download.Status);
        Assert.Equal(apiCsv.TrimStart('\uFEFF'), (await download.TextAsync()).TrimStart('\uFEFF'));
        var rows = apiCsv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length - 1;
        await Assertions.Expect(page.Locator("table.report tbody tr")).ToHaveCountAsync(rows);
        await Assertions.Expect(page.Locator("table.report")).ToContainTextAsync("alpha Inc.");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task TheLeaderboardRanksThePartnerWithItsPointsAndTier()
    {
        var api = await EscrowClient.Json(await world.Beta.Http.GetAsync("/v1/health/leaderboard?period=2026"));
        var top = api["partners"]![0]!;

        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Beta));
        await page.GotoAsync("/health/leaderboard?period=2026");

        var row = page.Locator($"table.leaderboard tr[data-partnership='{world.Partnership}']");
        await Assertions.Expect(row.Locator(".score")).ToHaveTextAsync(top["score"]!.GetValue<double>().ToString("0.0", CultureInfo.InvariantCulture));
        await Assertions.Expect(row.Locator(".tier")).ToHaveTextAsync(top["tier"]!.GetValue<string>());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task APartnerWithCountsOnlyCustomersShowsReleasedFiguresWithTheirMarginOfError()
    {
        // Two organizations of their own, so the shared world's partners and scores stay as they are.
        var seller = await world.App.SignupAsync("margin-seller");
        var partner = await world.App.SignupAsync("margin-partner");
        var pipeline = await seller.CreatePopulationAsync("Pipeline", "opportunities");
        await seller.UploadOkAsync(pipeline, Records.Ndjson(Enumerable.Range(0, 20).Select(i =>
            new Records.Account($"O{i}", Domain: $"m{i}.example", Attributes: new() { ["amount"] = "1000", ["currency"] = "USD" }))));
        var customers = await partner.CreatePopulationAsync("Customers");
        await partner.UploadOkAsync(customers, Records.Ndjson(Enumerable.Range(0, 10).Select(i => new Records.Account($"C{i}", Domain: $"m{i}.example"))));
        // A minimum of 1 and sharper releases (ε 10): the noised count of the ten covered opportunities is above the
        // minimum whatever the draw (below it the figures would be withheld, as the matrix cell would be).
        await EscrowClient.Expect(await partner.Http.PutAsJsonAsync($"/v1/populations/{customers}/sharing", new { level = "counts", minimumCount = 1 }), HttpStatusCode.OK);
        var partnership = await seller.PartnerAsync(partner);
        await partner.SetPrivacyAsync(partnership, new { epsilonPerPeriod = 100, epsilonPerRelease = 10 });
        var api = (await EscrowClient.Json(await seller.Http.GetAsync($"/v1/partnerships/{partnership}/health/pipeline")))["partners"]![0]!;
        var low = api["released"]!["potentialRevenue"]!["low"]!.GetValue<double>();

        var page = await world.SignInAsync(DashboardWorld.AdminOf(seller));
        await page.GotoAsync("/health");

        var row = page.Locator($"tr[data-partnership='{partnership}']");
        // The page shows the same release as the API (read again: no new draw), marked ≈, with its 95 % range beside it.
        await Assertions.Expect(row.Locator(".potential")).ToContainTextAsync("≈ " + api["figures"]!["potentialRevenue"]!.GetValue<decimal>().ToString("N0", CultureInfo.InvariantCulture) + " USD");
        await Assertions.Expect(row.Locator(".potential .margin")).ToContainTextAsync("95 %: " + ((decimal)low).ToString("N0", CultureInfo.InvariantCulture) + " USD");
        // The amount bound is the seller's own: all its amounts are 1 000, so B = 1 000 (not the fixed 100 000), and it says so.
        await Assertions.Expect(page.Locator(".released-note")).ToContainTextAsync("up to 1,000 USD per opportunity (from your own amounts in USD");
        await Assertions.Expect(page.Locator(".released-note")).ToContainTextAsync("none of your open amounts is above it");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task PartnersLeftOutOfTheAllPartnerCoverageAreNamedWithTheirOwnReason()
    {
        // One partner's minimum withholds its figures; another gives exact counts: each is left out for its own reason
        // (the page gave every partner left out the budget's reason).
        var seller = await world.App.SignupAsync("leftout-seller");
        var pipeline = await seller.CreatePopulationAsync("Pipeline", "opportunities");
        await seller.UploadOkAsync(pipeline, Records.Ndjson(Enumerable.Range(0, 20).Select(i =>
            new Records.Account($"O{i}", Domain: $"l{i}.example", Attributes: new() { ["amount"] = "1000", ["currency"] = "USD" }))));
        async Task<string> PartnerAsync(string slug, int minimum)
        {
            var partner = await world.App.SignupAsync(slug);
            var customers = await partner.CreatePopulationAsync("Customers");
            await partner.UploadOkAsync(customers, Records.Ndjson(Enumerable.Range(0, 10).Select(i => new Records.Account($"C{i}", Domain: $"l{i}.example"))));
            await EscrowClient.Expect(await partner.Http.PutAsJsonAsync($"/v1/populations/{customers}/sharing", new { level = "counts", minimumCount = minimum }), HttpStatusCode.OK);
            var partnership = await seller.PartnerAsync(partner);
            if (minimum == 1) await partner.SetPrivacyAsync(partnership, new { exactCounts = true, confirmExactCounts = true });
            return partnership;
        }
        await PartnerAsync("leftout-minimum", 1000);
        await PartnerAsync("leftout-exact", 1);

        var page = await world.SignInAsync(DashboardWorld.AdminOf(seller));
        await page.GotoAsync("/health");

        var notes = page.Locator(".left-out");
        await Assertions.Expect(notes).ToHaveCountAsync(2);
        await Assertions.Expect(notes.Filter(new() { HasText = "leftout-minimum Inc." })).ToContainTextAsync("below the minimum it set for reporting");
        await Assertions.Expect(notes.Filter(new() { HasText = "leftout-exact Inc." })).ToContainTextAsync("gives you exact counts");
        await Assertions.Expect(notes.Filter(new() { HasText = "budget" })).ToHaveCountAsync(0);
        // The leaderboard says the same of the partners it cannot score.
        await page.GotoAsync("/health/leaderboard");
        var unscored = page.Locator("p.note", new() { HasText = "Not scored" });
        await Assertions.Expect(unscored).ToContainTextAsync("leftout-minimum Inc. (customers shared as counts only; figures withheld: minimum)");
        await Assertions.Expect(unscored).ToContainTextAsync("leftout-exact Inc. (customers shared as counts only; figures withheld: exact counts)");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AnotherOrganizationSeesNoneOfThisPartnershipOnItsHealthPage()
    {
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Gamma));
        await page.GotoAsync("/health");

        await Assertions.Expect(page.Locator($"tr[data-partnership='{world.Partnership}']")).ToHaveCountAsync(0);
        var content = await page.ContentAsync();
        Assert.DoesNotContain("alpha Inc.", content);
        Assert.DoesNotContain("beta Inc.", content);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AMalformedPeriodIsShownBesideItsFieldWithNoFigures()
    {
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        var response = await page.GotoAsync("/health?period=last-quarter");

        Assert.Equal(400, response!.Status);
        await Assertions.Expect(page.GetByLabel("Period of close dates")).ToHaveAttributeAsync("aria-invalid", "true");
        await Assertions.Expect(page.Locator("table.health")).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }
}
