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

    [Theory, StorageData]
    public async Task AnAllPartnerReleaseIsStoredOncePerPartnershipChargedAndPaidByEachOrNotAtAll(string provider)
    {
        var x = await SetupAsync(provider);
        await using var _s = x.Stores;
        var third = await x.Stores.OrganizationAsync("initech");
        var second = Ids.New("ptn");
        await x.Stores.Partnerships.CreateAsync(new Partnership(second, x.Viewer, third, PartnershipStatus.Invited, T0, null, null), None);
        var draw = new FigureDraw([7, 7000], Cost, [270, 270_000]);
        List<StoredHealthRelease> Rows(string ownerKey, DateTimeOffset at) =>
        [
            new(Ids.New("ohr"), x.Partnership, x.Viewer, x.Owner, HealthFigure.OverallCoverage, "2026", "USD", "v1", ownerKey, ["pop_a"], at, draw),
            new(Ids.New("ohr"), second, x.Viewer, third, HealthFigure.OverallCoverage, "2026", "USD", "v1", ownerKey, ["pop_c"], at, draw),
        ];
        // The second owner's budget has room for one release only.
        await x.Stores.HealthReleases.TryReleaseAsync(new StoredHealthRelease(Ids.New("ohr"), second, x.Viewer, third, HealthFigure.WinRate, "2026", "USD", "v0",
            "k", ["pop_c"], T0, new FigureDraw([1, 1], Cost, [1, 1])), new BudgetSpend(third, x.Viewer, T0, Cost, new Epsilon(40_000)), None);
        BudgetSpend[] Spends() => [new(x.Owner, x.Viewer, T0, Cost, new Epsilon(600_000)), new(third, x.Viewer, T0, Cost, new Epsilon(40_000))];

        var first = await x.Stores.HealthReleases.TryReleaseOverallAsync(Rows("both", T0), Spends(), None);
        var again = await x.Stores.HealthReleases.TryReleaseOverallAsync(Rows("both", T0.AddMinutes(1)), Spends(), None);
        var broke = await x.Stores.HealthReleases.TryReleaseOverallAsync(Rows("changed", T0.AddMinutes(2)), Spends(), None);

        Assert.Equal(ReleaseStatus.Released, first.Status);
        Assert.Equal((Cost, new Epsilon(40_000)), (first.SpentInPeriod[x.Owner], first.SpentInPeriod[third]));
        Assert.Equal(ReleaseStatus.Superseded, again.Status); // the same data: stored already
        Assert.Equal((ReleaseStatus.BudgetExhausted, third), (broke.Status, broke.UnpaidOwner));
        // Nothing of the refused one was written or paid, by either owner.
        Assert.Equal(Cost, (await x.Stores.Releases.GetBudgetAsync(x.Owner, x.Viewer, T0, None)).Spent);
        var latest = await x.Stores.HealthReleases.GetLatestOverallAsync(x.Viewer, "2026", "USD", None);
        Assert.Equal(new[] { x.Partnership, second }.Order(StringComparer.Ordinal), latest.Select(r => r.PartnershipId));
        Assert.All(latest, r =>
        {
            Assert.Equal([7L, 7000L], r.Draw.Values);
            Assert.Equal(("both", HealthFigure.OverallCoverage), (r.OwnerDataKey, r.Figure));
        });
        Assert.Equal(2, (await x.Stores.HealthReleases.GetLatestOverallAsync(x.Viewer, "2026", "USD", None, "v1", "both")).Count);
        Assert.Empty(await x.Stores.HealthReleases.GetLatestOverallAsync(x.Viewer, "2026", "USD", None, "v1", "changed"));
        Assert.Empty(await x.Stores.HealthReleases.GetLatestOverallAsync(x.Owner, "2026", "USD", None)); // another tenant
        Assert.Empty(await x.Stores.HealthReleases.GetLatestOverallAsync(x.Viewer, "2025", "USD", None));
    }
}
