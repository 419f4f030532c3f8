using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Overlaps;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// After a start the caches hold again what was read within their idle time before it (<see cref="CacheWarmUp"/>): the
/// overlaps of the partnerships read, for the side that read them, newest read first, within the budget — and nothing a
/// reader could no longer see (an ended partnership), nothing read longer ago than the idle time, nothing when disabled.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class CacheWarmUpTests
{
    private sealed record Side(Org Org, string Population);

    private static async Task<Side> PopulationAsync(EscrowApp app, string slug, string prefix, int from, int count, string level = "overlaps")
    {
        var org = await app.SignupAsync(slug);
        var population = await org.CreatePopulationAsync("Customers");
        if (level == "overlaps") await org.ShareAsync(population, level, "accountName");
        else await org.ShareAsync(population, level);
        await org.UploadOkAsync(population, Records.Range(prefix, from, count, "accountName"));
        return new Side(org, population);
    }

    private static async Task<string> CurrentVersionAsync(HttpClient http, string population) =>
        (await Json(await http.GetAsync($"/v1/populations/{population}")))["currentVersionId"]!.GetValue<string>();

    private static async Task<int> CountAsync(HttpClient http, string partnership, string mine, string theirs)
    {
        var matrix = await Json(await http.GetAsync($"/v1/partnerships/{partnership}/overlaps"));
        return matrix["cells"]!.AsArray().Single(c => c!["myPopulationId"]!.GetValue<string>() == mine && c["partnerPopulationId"]!.GetValue<string>() == theirs)!
            ["count"]!.GetValue<int>();
    }

    /// <summary>
    /// A new instance of the service on the first one's database (a restart, as far as its caches go: they start empty),
    /// its warm-up awaited (it runs beside the requests; nothing else waits for it). The first one's overlap refreshes
    /// are done first: a refresh still queued would be claimed by the new instance's refresher, and the versions it loads
    /// would be held there beside what the warm-up loaded.
    /// </summary>
    private static async Task<(EscrowApp App, CacheWarmUp.WarmUpResult Result)> RestartAsync(EscrowApp first, Dictionary<string, string?>? settings = null,
        TimeProvider? time = null)
    {
        await first.RefreshedAsync();
        var app = new EscrowApp(settings ?? [], first.DataDirectory, time: time);
        var result = await app.Services.GetRequiredService<CacheWarmUp>().Done.WaitAsync(TimeSpan.FromSeconds(30));
        return (app, result);
    }

    [Fact]
    public async Task AfterARestartTheOverlapsReadBeforeItAreInMemoryBeforeAnyRequestAndThoseNotReadAreNot()
    {
        using var first = new EscrowApp();
        var alpha = await PopulationAsync(first, "alpha", "x", 0, 400);
        var beta = await PopulationAsync(first, "beta", "x", 100, 400);
        var gamma = await PopulationAsync(first, "gamma", "x", 200, 400);
        var read = await alpha.Org.PartnerAsync(beta.Org);
        var unread = await gamma.Org.PartnerAsync(beta.Org);
        var before = await CountAsync(alpha.Org.Http, read, alpha.Population, beta.Population);
        Assert.Equal(300, before);
        var versions = new
        {
            Alpha = await CurrentVersionAsync(alpha.Org.Http, alpha.Population),
            Beta = await CurrentVersionAsync(beta.Org.Http, beta.Population),
            Gamma = await CurrentVersionAsync(gamma.Org.Http, gamma.Population),
        };

        var (app, result) = await RestartAsync(first);
        using (app)
        {
            Assert.Equal((1, 1), (result.Partnerships, result.Cells));
            var held = app.Services.GetRequiredService<PopulationDataCache>().HeldVersionIds;
            Assert.Equal(new[] { versions.Alpha, versions.Beta }.Order(), held.Order());
            Assert.Equal([(versions.Alpha, versions.Beta)], app.Services.GetRequiredService<OverlapCache>().HeldVersionPairs);
            Assert.DoesNotContain(versions.Gamma, held); // gamma's partnership was not read before the restart

            // The read after the restart answers what the read before did, from what the warm-up computed.
            var http = await app.SignInAsync(alpha.Org.Slug);
            Assert.Equal(before, await CountAsync(http, read, alpha.Population, beta.Population));
            Assert.Equal([(versions.Alpha, versions.Beta)], app.Services.GetRequiredService<OverlapCache>().HeldVersionPairs);
            Assert.Equal(300, await CountAsync(await app.SignInAsync(gamma.Org.Slug), unread, gamma.Population, beta.Population));
            Assert.DoesNotContain(app.Logs, l => l.Contains("x-00"));
        }
    }

    [Fact]
    public async Task APartnershipEndedAfterItsReadIsNotWarmed()
    {
        using var first = new EscrowApp();
        var alpha = await PopulationAsync(first, "alpha", "x", 0, 300);
        var beta = await PopulationAsync(first, "beta", "x", 100, 300);
        var partnership = await alpha.Org.PartnerAsync(beta.Org);
        Assert.Equal(200, await CountAsync(alpha.Org.Http, partnership, alpha.Population, beta.Population));
        await Expect(await alpha.Org.Http.PostAsync($"/v1/partnerships/{partnership}/terminate", null), HttpStatusCode.OK);

        var (app, result) = await RestartAsync(first);
        using (app)
        {
            Assert.Equal((0, 0), (result.Partnerships, result.Cells));
            Assert.Empty(app.Services.GetRequiredService<PopulationDataCache>().HeldVersionIds);
            Assert.Empty(app.Services.GetRequiredService<OverlapCache>().HeldVersionPairs);
        }
    }

    [Fact]
    public async Task AnOrganizationErasedAfterItsPartnerReadIsNotBroughtBackIntoMemory()
    {
        using var first = new EscrowApp();
        var alpha = await PopulationAsync(first, "alpha", "x", 0, 300);
        var beta = await PopulationAsync(first, "beta", "x", 100, 300);
        var gamma = await PopulationAsync(first, "gamma", "x", 150, 300);
        var erased = await alpha.Org.PartnerAsync(beta.Org);
        var kept = await alpha.Org.PartnerAsync(gamma.Org);
        Assert.Equal(200, await CountAsync(alpha.Org.Http, erased, alpha.Population, beta.Population));
        Assert.Equal(150, await CountAsync(alpha.Org.Http, kept, alpha.Population, gamma.Population));
        var betaVersion = await CurrentVersionAsync(beta.Org.Http, beta.Population);
        var gammaVersion = await CurrentVersionAsync(gamma.Org.Http, gamma.Population);
        await Expect(await beta.Org.Http.PostAsJsonAsync("/v1/organization/delete", new { confirmSlug = "beta" }), HttpStatusCode.OK);

        var (app, result) = await RestartAsync(first);
        using (app)
        {
            // Alpha's other partnership, read just before, is warmed (the control); nothing of the erased organization is.
            Assert.Equal((1, 1), (result.Partnerships, result.Cells));
            var held = app.Services.GetRequiredService<PopulationDataCache>().HeldVersionIds;
            Assert.Contains(gammaVersion, held);
            Assert.DoesNotContain(betaVersion, held);
            Assert.DoesNotContain(app.Services.GetRequiredService<OverlapCache>().HeldVersionPairs, p => p.Theirs == betaVersion || p.Mine == betaVersion);
        }
    }

    [Fact]
    public async Task ReadsOlderThanTheIdleTimeAreNotWarmedNorAnythingWhenWarmingIsOff()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var settings = new Dictionary<string, string?> { ["Escrow:CacheIdleMinutes"] = "10" };
        using var first = new EscrowApp(settings, time: clock);
        var alpha = await PopulationAsync(first, "alpha", "x", 0, 300);
        var beta = await PopulationAsync(first, "beta", "x", 100, 300);
        var partnership = await alpha.Org.PartnerAsync(beta.Org);
        Assert.Equal(200, await CountAsync(alpha.Org.Http, partnership, alpha.Population, beta.Population));

        // Nine minutes later the read is within the idle time: warmed (the control of the two cases below).
        clock.Advance(TimeSpan.FromMinutes(9));
        var (app, result) = await RestartAsync(first, settings, clock);
        using (app)
        {
            Assert.Equal((1, 1), (result.Partnerships, result.Cells));
            Assert.Equal(2, app.Services.GetRequiredService<PopulationDataCache>().HeldVersionIds.Count);
        }

        // The same read, with warming off: nothing.
        (app, result) = await RestartAsync(first, new Dictionary<string, string?>(settings) { ["Escrow:CacheWarmOnStart"] = "false" }, clock);
        using (app)
        {
            Assert.Equal((0, 0), (result.Partnerships, result.Cells));
            Assert.Empty(app.Services.GetRequiredService<PopulationDataCache>().HeldVersionIds);
        }

        // Eleven minutes after the read, past the idle time: nothing either.
        clock.Advance(TimeSpan.FromMinutes(2));
        (app, result) = await RestartAsync(first, settings, clock);
        using (app)
        {
            Assert.Equal((0, 0), (result.Partnerships, result.Cells));
            Assert.Empty(app.Services.GetRequiredService<PopulationDataCache>().HeldVersionIds);
        }
    }

    [Fact]
    public async Task TheWarmUpKeepsWithinThreeQuartersOfTheBudgetNewestReadFirstAndDropsNothing()
    {
        var settings = new Dictionary<string, string?> { ["Escrow:CacheBudgetMiB"] = "2" };
        using var first = new EscrowApp(settings);
        var alpha = await PopulationAsync(first, "alpha", "x", 0, 6_000);
        var partners = new List<(Side Side, string Partnership)>();
        foreach (var slug in new[] { "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta" })
        {
            var side = await PopulationAsync(first, slug, "x", 1_000, 6_000);
            partners.Add((side, await alpha.Org.PartnerAsync(side.Org)));
        }
        // Read one after the other: theta's is the newest read.
        foreach (var (side, partnership) in partners)
            Assert.Equal(5_000, await CountAsync(alpha.Org.Http, partnership, alpha.Population, side.Population));
        var newest = await CurrentVersionAsync(partners[^1].Side.Org.Http, partners[^1].Side.Population);
        var oldest = await CurrentVersionAsync(partners[0].Side.Org.Http, partners[0].Side.Population);

        var (app, result) = await RestartAsync(first, settings);
        using (app)
        {
            var held = app.Services.GetRequiredService<PopulationDataCache>().HeldVersionIds;
            Assert.True(held.Contains(newest), $"{result}");
            Assert.True(!held.Contains(oldest), $"{result}"); // three quarters were taken before the oldest read came
            Assert.InRange(result.Partnerships, 1, partners.Count - 1);
            Assert.InRange(result.HeldBytes, 1, 3L << 19);
            // Nothing was pushed out: a warm-up that overfilled the budget would drop what it warmed first, the newest reads.
            Assert.Equal(0, app.Services.GetRequiredService<CacheMemory>().Dropped);
        }
    }

    [Fact]
    public async Task ACountsLevelCellIsNotWarmedSinceItsMatrixAnswersFromTheStoredCount()
    {
        using var first = new EscrowApp();
        var alpha = await PopulationAsync(first, "alpha", "x", 0, 300);
        var counts = await PopulationAsync(first, "counts", "x", 100, 300, level: "counts");
        var listed = await PopulationAsync(first, "listed", "x", 100, 300);
        var countsPartnership = await alpha.Org.PartnerAsync(counts.Org);
        var listedPartnership = await alpha.Org.PartnerAsync(listed.Org);
        await alpha.Org.MatrixAsync(countsPartnership);
        await alpha.Org.MatrixAsync(listedPartnership);
        var countsVersion = await CurrentVersionAsync(counts.Org.Http, counts.Population);
        var listedVersion = await CurrentVersionAsync(listed.Org.Http, listed.Population);

        var (app, result) = await RestartAsync(first);
        using (app)
        {
            Assert.Equal((1, 1), (result.Partnerships, result.Cells));
            var held = app.Services.GetRequiredService<PopulationDataCache>().HeldVersionIds;
            Assert.Contains(listedVersion, held); // the control: the overlaps-level cell read just after is warmed
            Assert.DoesNotContain(countsVersion, held);
        }
    }
}
