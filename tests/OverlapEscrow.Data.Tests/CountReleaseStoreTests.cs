using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Privacy;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>Released counts-level values, the budgets they spend, and owners' settings, on every configured database.</summary>
public class CountReleaseStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly Epsilon Cost = new(20_000);
    private static readonly Epsilon Budget = new(600_000);

    /// <summary>A partnership of a viewer (acme) and an owner (globex), with one population each.</summary>
    private sealed record Setup(Stores Stores, string Partnership, string Viewer, string Owner, string ViewerPopulation, string OwnerPopulation);

    private static async Task<Setup> SetupAsync(string provider)
    {
        var s = await CreateAsync(provider);
        var viewer = await s.OrganizationAsync("acme");
        var owner = await s.OrganizationAsync("globex");
        var partnership = Ids.New("ptn");
        await s.Partnerships.CreateAsync(new Partnership(partnership, viewer, owner, PartnershipStatus.Invited, T0, null, null), None);
        return new Setup(s, partnership, viewer, owner, await s.PopulationAsync(viewer), await s.PopulationAsync(owner));
    }

    private static StoredRelease Release(Setup x, string viewerVersion, long value, DateTimeOffset at, string? viewerPopulation = null, Epsilon? noise = null) =>
        new(Ids.New("ocr"), x.Partnership, x.Viewer, viewerPopulation ?? x.ViewerPopulation, x.Owner, x.OwnerPopulation, viewerVersion, "ver-owner", at,
            new CountDraw(value, value, noise ?? Cost));

    private static BudgetSpend Spend(Setup x, DateTimeOffset periodStart, Epsilon? limit = null) => new(x.Owner, x.Viewer, periodStart, Cost, limit ?? Budget);

    [Theory, StorageData]
    public async Task ConcurrentReleasesOfOneCellStoreOneReleaseAndMakeOneSpend(string provider)
    {
        var x = await SetupAsync(provider);
        await using var _s = x.Stores;
        var releases = x.Stores.Releases;

        // Eight requests saw "no value yet" for the same data and each drew one.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            releases.TryReleaseAsync(Release(x, "v1", 500 + i, T0), null, Spend(x, T0), None))));

        Assert.Single(outcomes, o => o.Status == ReleaseStatus.Released);
        Assert.All(outcomes.Where(o => o.Status != ReleaseStatus.Released), o => Assert.Equal(ReleaseStatus.Superseded, o.Status));
        var budget = await releases.GetBudgetAsync(x.Owner, x.Viewer, T0, None);
        Assert.Equal((Cost, 1), (budget.Spent, budget.Releases));
        var latest = await releases.GetLatestAsync(x.Partnership, x.Viewer, x.ViewerPopulation, x.OwnerPopulation, None);
        Assert.Single(await releases.ListAsync(x.Partnership, x.Viewer, null, T0.AddDays(1), None));

        // And again for the next change, against the release that is now the latest.
        outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            releases.TryReleaseAsync(Release(x, "v2", 600 + i, T0.AddDays(8)), latest!.Id, Spend(x, T0), None))));
        Assert.Single(outcomes, o => o.Status == ReleaseStatus.Released);
        Assert.Equal(Cost + Cost, (await releases.GetBudgetAsync(x.Owner, x.Viewer, T0, None)).Spent);
    }

    [Theory, StorageData]
    public async Task ConcurrentReleasesOfManyCellsNeverSpendMoreThanTheBudget(string provider)
    {
        var x = await SetupAsync(provider);
        await using var _s = x.Stores;
        var populations = new List<string>();
        for (var i = 0; i < 20; i++) populations.Add(await x.Stores.PopulationAsync(x.Viewer, "P" + i));
        var limit = new Epsilon(100_000); // five releases

        var outcomes = await Task.WhenAll(populations.Select(p => Task.Run(() =>
            x.Stores.Releases.TryReleaseAsync(Release(x, "v1", 10, T0, p), null, Spend(x, T0, limit), None))));

        Assert.Equal(5, outcomes.Count(o => o.Status == ReleaseStatus.Released));
        Assert.Equal(15, outcomes.Count(o => o.Status == ReleaseStatus.BudgetExhausted));
        Assert.Equal(limit, (await x.Stores.Releases.GetBudgetAsync(x.Owner, x.Viewer, T0, None)).Spent);
        // A refused release wrote nothing: neither a value nor a head.
        Assert.Equal(5, (await x.Stores.Releases.ListAsync(x.Partnership, x.Viewer, null, T0.AddDays(1), None)).Count);
        Assert.Equal(5, (await x.Stores.History.ListCellsAsync(x.Partnership, x.Viewer, None)).Count);
    }

    [Theory, StorageData]
    public async Task BudgetsAreCountedPerOwnerPartnerAndPeriodAndExactReleasesSpendNothing(string provider)
    {
        var x = await SetupAsync(provider);
        await using var _s = x.Stores;
        var releases = x.Stores.Releases;
        var period2 = T0.AddDays(30);
        var first = Release(x, "v1", 1, T0);
        Assert.Equal(ReleaseStatus.Released, (await releases.TryReleaseAsync(first, null, Spend(x, T0), None)).Status);
        var second = Release(x, "v2", 2, period2);
        var outcome = await releases.TryReleaseAsync(second, first.Id, Spend(x, period2), None);
        Assert.Equal((ReleaseStatus.Released, Cost), (outcome.Status, outcome.SpentInPeriod));
        var exact = Release(x, "v3", 3, period2, noise: Epsilon.Zero);
        Assert.Equal(ReleaseStatus.Released, (await releases.TryReleaseAsync(exact, second.Id, null, None)).Status);

        Assert.Equal(Cost, (await releases.GetBudgetAsync(x.Owner, x.Viewer, T0, None)).Spent);
        Assert.Equal((Cost, 1), ((await releases.GetBudgetAsync(x.Owner, x.Viewer, period2, None)).Spent, (await releases.GetBudgetAsync(x.Owner, x.Viewer, period2, None)).Releases));
        // The other direction (the viewer as owner) is another budget.
        Assert.Equal(Epsilon.Zero, (await releases.GetBudgetAsync(x.Viewer, x.Owner, T0, None)).Spent);
        Assert.Equal(Epsilon.Zero, (await releases.GetBudgetAsync(x.Owner, x.Viewer, T0.AddDays(60), None)).Spent);
        var latest = await releases.GetLatestAsync(x.Partnership, x.Viewer, x.ViewerPopulation, x.OwnerPopulation, None);
        Assert.True(latest!.Draw.IsExact);
    }

    [Theory, StorageData]
    public async Task AHistoryRangeStartsWithTheValueInForceAtItsStart(string provider)
    {
        var x = await SetupAsync(provider);
        await using var _s = x.Stores;
        var releases = x.Stores.Releases;
        string? previous = null;
        for (var i = 0; i < 3; i++)
        {
            var r = Release(x, "v" + i, 100 * (i + 1), T0.AddDays(10 * i));
            await releases.TryReleaseAsync(r, previous, null, None);
            previous = r.Id;
        }

        var listed = await releases.ListAsync(x.Partnership, x.Viewer, T0.AddDays(15), T0.AddDays(100), None);
        Assert.Equal([200L, 300L], listed.Select(r => r.Draw.Value));
        Assert.Equal([100L, 200L, 300L], (await releases.ListAsync(x.Partnership, x.Viewer, null, T0.AddDays(100), None)).Select(r => r.Draw.Value));
    }

    [Theory, StorageData]
    public async Task OneSideNeverReadsTheOtherSidesReleases(string provider)
    {
        var x = await SetupAsync(provider);
        await using var _s = x.Stores;
        await x.Stores.Releases.TryReleaseAsync(Release(x, "v1", 42, T0), null, Spend(x, T0), None);

        Assert.Empty(await x.Stores.Releases.ListAsync(x.Partnership, x.Owner, null, T0.AddDays(1), None));
        Assert.Null(await x.Stores.Releases.GetLatestAsync(x.Partnership, x.Owner, x.ViewerPopulation, x.OwnerPopulation, None));
        Assert.Empty(await x.Stores.History.ListCellsAsync(x.Partnership, x.Owner, None));
    }

    [Theory, StorageData]
    public async Task ACellsReleasesGoWithItsHistoryAndTheCellStartsAgain(string provider)
    {
        var x = await SetupAsync(provider);
        await using var _s = x.Stores;
        var first = Release(x, "v1", 42, T0);
        await x.Stores.Releases.TryReleaseAsync(first, null, Spend(x, T0), None);
        Assert.Single(await x.Stores.History.ListCellsAsync(x.Partnership, x.Viewer, None));

        await x.Stores.History.DeleteCellsAsync(x.Partnership, x.Viewer, [new OverlapCellKey(x.ViewerPopulation, x.OwnerPopulation)], None);

        Assert.Empty(await x.Stores.Releases.ListAsync(x.Partnership, x.Viewer, null, T0.AddDays(1), None));
        Assert.Null(await x.Stores.Releases.GetLatestAsync(x.Partnership, x.Viewer, x.ViewerPopulation, x.OwnerPopulation, None));
        // The spend stays spent: the budget is the owner's, whatever happens to the cell.
        Assert.Equal(Cost, (await x.Stores.Releases.GetBudgetAsync(x.Owner, x.Viewer, T0, None)).Spent);
        Assert.Equal(ReleaseStatus.Released, (await x.Stores.Releases.TryReleaseAsync(Release(x, "v1", 50, T0), null, Spend(x, T0), None)).Status);

        await x.Stores.History.DeletePartnershipAsync(x.Partnership, None);
        Assert.Empty(await x.Stores.Releases.ListAsync(x.Partnership, x.Viewer, null, T0.AddDays(1), None));
        Assert.Empty(await x.Stores.History.ListCellsAsync(x.Partnership, x.Viewer, None));
    }

    [Theory, StorageData]
    public async Task AReleaseItsSpendAndItsAuditEventCommitOrRollBackTogether(string provider)
    {
        var x = await SetupAsync(provider);
        await using var _s = x.Stores;
        await using (var uow = await x.Stores.Transactions.BeginAsync(None))
        {
            Assert.Equal(ReleaseStatus.Released, (await uow.Releases.TryReleaseAsync(Release(x, "v1", 42, T0), null, Spend(x, T0), None)).Status);
            await uow.Audit.AppendAsync(new AuditEntry(T0, x.Owner, "system:count-release", "privacy.budget_spent", x.Partnership, new { }), None);
            // not committed
        }
        Assert.Null(await x.Stores.Releases.GetLatestAsync(x.Partnership, x.Viewer, x.ViewerPopulation, x.OwnerPopulation, None));
        Assert.Equal(Epsilon.Zero, (await x.Stores.Releases.GetBudgetAsync(x.Owner, x.Viewer, T0, None)).Spent);
        Assert.Equal(0, (await x.Stores.Audit.VerifyAsync(None)).EventCount);

        await using (var uow = await x.Stores.Transactions.BeginAsync(None))
        {
            // A refused release inside a unit of work leaves the unit's other writes alone (a savepoint).
            await uow.Audit.AppendAsync(new AuditEntry(T0, x.Owner, "member:m", "kept", null, new { }), None);
            Assert.Equal(ReleaseStatus.BudgetExhausted,
                (await uow.Releases.TryReleaseAsync(Release(x, "v1", 42, T0), null, Spend(x, T0, Epsilon.Zero), None)).Status);
            Assert.Equal(ReleaseStatus.Released, (await uow.Releases.TryReleaseAsync(Release(x, "v1", 42, T0), null, Spend(x, T0), None)).Status);
            await uow.CommitAsync(None);
        }
        Assert.Equal(Cost, (await x.Stores.Releases.GetBudgetAsync(x.Owner, x.Viewer, T0, None)).Spent);
        Assert.Equal(1, (await x.Stores.Audit.VerifyAsync(None)).EventCount);
    }

    [Theory, StorageData]
    public async Task AnOwnersSettingsForAPartnerAreItsOwnAndReplacedWhole(string provider)
    {
        var x = await SetupAsync(provider);
        await using var _s = x.Stores;
        var releases = x.Stores.Releases;
        Assert.Null(await releases.GetSettingsAsync(x.Owner, x.Viewer, None));

        var mine = new StoredPrivacySettings(new PrivacyOverrides(new Epsilon(300_000), new Epsilon(10_000), TimeSpan.FromHours(12), false), T0, "member:m");
        await releases.SetSettingsAsync(x.Owner, x.Viewer, mine, None);
        Assert.Equal(mine, await releases.GetSettingsAsync(x.Owner, x.Viewer, None));
        Assert.Null(await releases.GetSettingsAsync(x.Viewer, x.Owner, None));

        var exact = new StoredPrivacySettings(new PrivacyOverrides(null, null, null, true), T0.AddDays(1), "member:n");
        await releases.SetSettingsAsync(x.Owner, x.Viewer, exact, None);
        Assert.Equal(exact, await releases.GetSettingsAsync(x.Owner, x.Viewer, None));
    }
}
