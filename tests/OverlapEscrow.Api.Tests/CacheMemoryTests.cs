using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// What the escrow keeps in memory between requests: only current versions and their overlaps, within a byte
/// budget, and only while they are used. Any tenant can upload as often as it likes, so memory must not grow with
/// uploads.
/// </summary>
public sealed class CacheMemoryTests
{
    private static EscrowApp App(Dictionary<string, string?>? settings = null, TimeProvider? time = null) =>
        new(settings ?? [], time: time);

    private sealed record Setup(Org Alpha, Org Beta, string AlphaPopulation, string BetaPopulation, string Partnership);

    private static async Task<Setup> PartnersAsync(EscrowApp app, int records = 1_000)
    {
        var alpha = await app.SignupAsync("alpha");
        var beta = await app.SignupAsync("beta");
        var a = await alpha.CreatePopulationAsync("Customers");
        var b = await beta.CreatePopulationAsync("Customers");
        await alpha.ShareAsync(a, "overlaps", "accountName");
        await beta.ShareAsync(b, "overlaps", "accountName");
        await beta.UploadOkAsync(b, Records.Range("b", 0, records, "accountName"));
        var partnership = await alpha.PartnerAsync(beta);
        return new Setup(alpha, beta, a, b, partnership);
    }

    private static async Task<string> CurrentVersionAsync(Org org, string population) =>
        (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["currentVersionId"]!.GetValue<string>();

    private static async Task<int> CountAsync(Setup s)
    {
        var matrix = await s.Alpha.MatrixAsync(s.Partnership);
        return matrix.Cell(s.AlphaPopulation, s.BetaPopulation)!["count"]!.GetValue<int>();
    }

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("Still held after 5 seconds.");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task AfterSuccessiveSnapshotsOnlyTheCurrentVersionOfThePopulationStaysInMemory()
    {
        using var app = App();
        var s = await PartnersAsync(app);
        var versions = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var upload = await s.Alpha.UploadOkAsync(s.AlphaPopulation, Records.Range("a", i * 100, 300, "accountName"));
            versions.Add(upload["versionId"]!.GetValue<string>());
            await app.RefreshedAsync();
            Assert.Equal(300, await CountAsync(s));
        }

        var cache = app.Services.GetRequiredService<PopulationDataCache>();
        var held = cache.HeldVersionIds;
        Assert.Contains(versions[^1], held);
        Assert.DoesNotContain(held, versions[..^1].Contains);
        Assert.Equal(new[] { versions[^1], await CurrentVersionAsync(s.Beta, s.BetaPopulation) }.Order(), held.Order());
    }

    [Fact]
    public async Task OverlapResultsOfASupersededVersionLeaveMemoryWhenTheNewVersionCommits()
    {
        using var app = App();
        var s = await PartnersAsync(app);
        var first = (await s.Alpha.UploadOkAsync(s.AlphaPopulation, Records.Range("a", 0, 300)))["versionId"]!.GetValue<string>();
        await app.RefreshedAsync();
        Assert.Equal(300, await CountAsync(s));
        var overlaps = app.Services.GetRequiredService<OverlapCache>();
        Assert.Contains(overlaps.HeldVersionPairs, p => p.Mine == first || p.Theirs == first);

        await s.Alpha.UploadOkAsync(s.AlphaPopulation, Records.Range("a", 200, 300));

        // The version leaves at once; MemoryCache removes the results kept under its token on the thread pool.
        await EventuallyAsync(() => !overlaps.HeldVersionPairs.Any(p => p.Mine == first || p.Theirs == first));
        Assert.DoesNotContain(first, app.Services.GetRequiredService<PopulationDataCache>().HeldVersionIds);
        await app.RefreshedAsync();
        Assert.Equal(300, await CountAsync(s));
        Assert.DoesNotContain(overlaps.HeldVersionPairs, p => p.Mine == first || p.Theirs == first);
    }

    [Fact]
    public async Task DeltasAndTheCompactionThatFoldsThemLeaveOnlyTheCurrentVersionInMemory()
    {
        using var app = App(new() { ["Escrow:Uploads:CompactAfterDeltas"] = "2" });
        var s = await PartnersAsync(app);
        var versions = new List<string> { (await s.Alpha.UploadOkAsync(s.AlphaPopulation, Records.Range("a", 0, 300)))["versionId"]!.GetValue<string>() };
        for (var i = 1; i <= 2; i++)
        {
            versions.Add((await s.Alpha.UploadOkAsync(s.AlphaPopulation, Records.Range("a", 300 + i, 1), delta: true))["versionId"]!.GetValue<string>());
            await app.RefreshedAsync();
            await CountAsync(s);
        }
        var current = await CurrentVersionAsync(s.Alpha, s.AlphaPopulation);
        Assert.DoesNotContain(current, versions); // folded into a new snapshot

        var held = app.Services.GetRequiredService<PopulationDataCache>().HeldVersionIds;
        Assert.DoesNotContain(held, versions.Contains);
        Assert.Contains(current, held);
        await EventuallyAsync(() => !app.Services.GetRequiredService<OverlapCache>().HeldVersionPairs.Any(p => versions.Contains(p.Mine) || versions.Contains(p.Theirs)));
    }

    [Fact]
    public async Task TheCachesNeverHoldMoreBytesThanTheirBudget()
    {
        // About 300 bytes a record, so 360 KB a version: two or three fit in 1 MiB, not all four.
        using var app = App(new() { ["Escrow:CacheBudgetMiB"] = "1" });
        var s = await PartnersAsync(app, records: 1_200);
        var b2 = await s.Beta.CreatePopulationAsync("Prospects", "prospects");
        await s.Beta.ShareAsync(b2, "overlaps", "accountName");
        await s.Beta.UploadOkAsync(b2, Records.Range("p", 600, 1_200, "accountName"));
        var a2 = await s.Alpha.CreatePopulationAsync("Prospects", "prospects");
        await s.Alpha.UploadOkAsync(s.AlphaPopulation, Records.Range("a", 0, 1_200, "accountName"));
        await s.Alpha.UploadOkAsync(a2, Records.Range("q", 300, 1_200, "accountName"));
        await app.RefreshedAsync();

        var populations = app.Services.GetRequiredService<PopulationDataCache>();
        var overlaps = app.Services.GetRequiredService<OverlapCache>();
        for (var round = 0; round < 3; round++)
        {
            var matrix = await s.Alpha.MatrixAsync(s.Partnership);
            Assert.Equal(1_200, matrix.Cell(s.AlphaPopulation, s.BetaPopulation)!["count"]!.GetValue<int>());
            Assert.Equal(600, matrix.Cell(s.AlphaPopulation, b2)!["count"]!.GetValue<int>());
            Assert.Equal(900, matrix.Cell(a2, b2)!["count"]!.GetValue<int>());
            Assert.InRange(populations.HeldBytes + overlaps.HeldBytes, 1, 1L << 20);
            Assert.InRange(app.Services.GetRequiredService<CacheMemory>().HeldBytes, 1, 1L << 20);
        }
    }

    [Fact]
    public async Task VersionsAndOverlapsNotReadForTheIdleTimeLeaveMemoryWithoutAnyRequest()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        using var app = App(new() { ["Escrow:CacheIdleMinutes"] = "10", ["Escrow:AccessTokenMinutes"] = "60" }, clock);
        var s = await PartnersAsync(app);
        await s.Alpha.UploadOkAsync(s.AlphaPopulation, Records.Range("a", 0, 300));
        await app.RefreshedAsync();
        Assert.Equal(300, await CountAsync(s));
        var populations = app.Services.GetRequiredService<PopulationDataCache>();
        var overlaps = app.Services.GetRequiredService<OverlapCache>();
        Assert.NotEmpty(populations.HeldVersionIds);
        Assert.NotEmpty(overlaps.HeldVersionPairs);

        clock.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(300, await CountAsync(s)); // read: the idle time starts again
        clock.Advance(TimeSpan.FromMinutes(9));
        Assert.NotEmpty(populations.HeldVersionIds);

        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Empty(populations.HeldVersionIds);
        Assert.Empty(overlaps.HeldVersionPairs);
        Assert.Equal(0, populations.HeldBytes + overlaps.HeldBytes);
        Assert.Equal(300, await CountAsync(s)); // loaded again on demand
    }
}
