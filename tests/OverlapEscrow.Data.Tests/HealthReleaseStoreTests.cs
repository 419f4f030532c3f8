using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Health;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Privacy;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>Released health figures and the budget they share with count releases, on every configured database.</summary>
public class HealthReleaseStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly Epsilon Cost = new(20_000);

    private sealed record Setup(Stores Stores, string Partnership, string Viewer, string Owner);

    private static async Task<Setup> SetupAsync(string provider)
    {
        var s = await CreateAsync(provider);
        var viewer = await s.OrganizationAsync("acme");
        var owner = await s.OrganizationAsync("globex");
        var partnership = Ids.New("ptn");
        await s.Partnerships.CreateAsync(new Partnership(partnership, viewer, owner, PartnershipStatus.Invited, T0, null, null), None);
        return new Setup(s, partnership, viewer, owner);
    }

    private static StoredHealthRelease Release(Setup x, HealthFigure figure, string viewerKey, long value, DateTimeOffset at, string period = "2026-01-01..2026-03-31") =>
        new(Ids.New("ohr"), x.Partnership, x.Viewer, x.Owner, figure, period, "USD", viewerKey, "owner-key", ["pop_a", "pop_b"], at,
            new FigureDraw(figure == HealthFigure.WinRate ? [value, value / 2] : [value], Cost, figure == HealthFigure.WinRate ? [369, 369] : [150]));

    private static BudgetSpend Spend(Setup x, Epsilon limit) => new(x.Owner, x.Viewer, T0, Cost, limit);

    [Theory, StorageData]
    public async Task ConcurrentFirstReadsOfOneFigureStoreOneReleaseAndMakeOneSpend(string provider)
    {
        var x = await SetupAsync(provider);
        await using var _s = x.Stores;

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            x.Stores.HealthReleases.TryReleaseAsync(Release(x, HealthFigure.WinRate, "v1", 100 + i, T0), Spend(x, new Epsilon(600_000)), None))));

        Assert.Single(outcomes, o => o.Status == ReleaseStatus.Released);
        Assert.All(outcomes.Where(o => o.Status != ReleaseStatus.Released), o => Assert.Equal(ReleaseStatus.Superseded, o.Status));
        Assert.Equal((Cost, 1), ((await x.Stores.Releases.GetBudgetAsync(x.Owner, x.Viewer, T0, None)).Spent, (await x.Stores.Releases.GetBudgetAsync(x.Owner, x.Viewer, T0, None)).Releases));
        var latest = await x.Stores.HealthReleases.GetLatestAsync(x.Partnership, x.Viewer, HealthFigure.WinRate, "2026-01-01..2026-03-31", "USD", false, None);
        Assert.NotNull(latest);
        Assert.Equal(["pop_a", "pop_b"], latest.OwnerPopulationIds);
        Assert.Equal(2, latest.Draw.Values.Count);
        Assert.Equal([369L, 369L], latest.Draw.Margins);
        // Another period, another figure or the exact kind are other releases.
        Assert.Null(await x.Stores.HealthReleases.GetLatestAsync(x.Partnership, x.Viewer, HealthFigure.WinRate, "2026-04-01..2026-06-30", "USD", false, None));
        Assert.Null(await x.Stores.HealthReleases.GetLatestAsync(x.Partnership, x.Viewer, HealthFigure.DaysToClose, "2026-01-01..2026-03-31", "USD", false, None));
        Assert.Null(await x.Stores.HealthReleases.GetLatestAsync(x.Partnership, x.Viewer, HealthFigure.WinRate, "2026-01-01..2026-03-31", "USD", true, None));
        // Another tenant reads nothing of it.
        Assert.Null(await x.Stores.HealthReleases.GetLatestAsync(x.Partnership, x.Owner, HealthFigure.WinRate, "2026-01-01..2026-03-31", "USD", false, None));
    }

    [Theory, StorageData]
    public async Task ARefusedSpendWritesNoReleaseAndTheBudgetIsSharedWithCountReleases(string provider)
    {
        var x = await SetupAsync(provider);
        await using var _s = x.Stores;
        var limit = new Epsilon(40_000); // two releases in all

        var first = await x.Stores.HealthReleases.TryReleaseAsync(Release(x, HealthFigure.PotentialRevenue, "v1", 10, T0), Spend(x, limit), None);
        var second = await x.Stores.HealthReleases.TryReleaseAsync(Release(x, HealthFigure.OverlappingOpportunities, "v1", 10, T0), Spend(x, limit), None);
        var third = await x.Stores.HealthReleases.TryReleaseAsync(Release(x, HealthFigure.WinRate, "v1", 10, T0), Spend(x, limit), None);

        Assert.Equal((ReleaseStatus.Released, ReleaseStatus.Released, ReleaseStatus.BudgetExhausted), (first.Status, second.Status, third.Status));
        Assert.Equal(limit, second.SpentInPeriod);
        Assert.Null(await x.Stores.HealthReleases.GetLatestAsync(x.Partnership, x.Viewer, HealthFigure.WinRate, "2026-01-01..2026-03-31", "USD", false, None));
        Assert.Equal((limit, 2), ((await x.Stores.Releases.GetBudgetAsync(x.Owner, x.Viewer, T0, None)).Spent, (await x.Stores.Releases.GetBudgetAsync(x.Owner, x.Viewer, T0, None)).Releases));
    }
}
