using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

public class HistoryStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private sealed record Cell(string Partnership, string Viewer, string Mine, string Theirs);

    private static async Task<(Stores Stores, Cell Cell, string Partner)> CellAsync(string provider)
    {
        var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var partner = await s.OrganizationAsync("globex");
        var partnership = Ids.New("ptn");
        await s.Partnerships.CreateAsync(new Partnership(partnership, me, partner, PartnershipStatus.Invited, T0, null, null), None);
        return (s, new Cell(partnership, me, await s.PopulationAsync(me), await s.PopulationAsync(partner)), partner);
    }

    private static HistoryPoint Point(Cell c, int minute, int count, SealedValue? ids = null) =>
        new(Ids.New("ohp"), c.Partnership, c.Viewer, c.Mine, c.Theirs, T0.AddMinutes(minute), SharingLevel.Overlaps, count, count, ids);

    [Theory, StorageData]
    public async Task TwoAppendsOfTheSameChangeRecordItOnce(string provider)
    {
        var (s, cell, _) = await CellAsync(provider);
        await using var _s = s;
        var first = Point(cell, 1, 3);
        Assert.True(await s.History.AppendAsync(first, T0.AddDays(-90), null, None));

        // Two refreshers saw the same latest point and the same change.
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() =>
            s.History.AppendAsync(Point(cell, 2, 4), T0.AddDays(-90), first.Id, None))));

        Assert.Single(results, r => r);
        var points = await s.History.ListAsync(cell.Partnership, cell.Viewer, null, T0.AddDays(1), None);
        Assert.Equal([3, 4], points.Select(p => p.Count));
    }

    [Theory, StorageData]
    public async Task TwoFirstPointsOfOneCellRecordOnlyOne(string provider)
    {
        var (s, cell, _) = await CellAsync(provider);
        await using var _s = s;

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() =>
            s.History.AppendAsync(Point(cell, 1, 5), T0.AddDays(-90), null, None))));

        Assert.Single(results, r => r);
        Assert.Single(await s.History.ListAsync(cell.Partnership, cell.Viewer, null, T0.AddDays(1), None));
    }

    [Theory, StorageData]
    public async Task OneSideNeverReadsTheOtherSidesPoints(string provider)
    {
        var (s, cell, partner) = await CellAsync(provider);
        await using var _s = s;
        await s.History.AppendAsync(Point(cell, 1, 3, new SealedValue([9], [9, 9], 1)), T0.AddDays(-90), null, None);

        Assert.Empty(await s.History.ListAsync(cell.Partnership, partner, null, T0.AddDays(1), None));
        Assert.Null(await s.History.GetLatestAsync(cell.Partnership, partner, cell.Mine, cell.Theirs, T0.AddDays(1), true, None));
        Assert.Empty(await s.History.ListCellsAsync(cell.Partnership, partner, None));
        var mine = await s.History.GetLatestAsync(cell.Partnership, cell.Viewer, cell.Mine, cell.Theirs, T0.AddDays(1), true, None);
        Assert.Equal(1, mine!.RecordIds!.KeyVersion);
    }

    [Theory, StorageData]
    public async Task DeletedCellsStartAgainFromNothing(string provider)
    {
        var (s, cell, _) = await CellAsync(provider);
        await using var _s = s;
        var first = Point(cell, 1, 3);
        await s.History.AppendAsync(first, T0.AddDays(-90), null, None);

        await s.History.DeleteCellsAsync(cell.Partnership, cell.Viewer, [new OverlapCellKey(cell.Mine, cell.Theirs)], None);

        Assert.Empty(await s.History.ListCellsAsync(cell.Partnership, cell.Viewer, None));
        Assert.False(await s.History.AppendAsync(Point(cell, 2, 4), T0.AddDays(-90), first.Id, None));
        Assert.True(await s.History.AppendAsync(Point(cell, 2, 4), T0.AddDays(-90), null, None));
    }

    [Theory, StorageData]
    public async Task RecordIdsOlderThanTheRetentionAreClearedExceptTheBaselineAtItsStart(string provider)
    {
        var (s, cell, _) = await CellAsync(provider);
        await using var _s = s;
        var ids = new SealedValue([1], [1, 1], 1);
        var p1 = Point(cell, 0, 1, ids);
        var p2 = Point(cell, 10, 2, ids);
        await s.History.AppendAsync(p1, T0.AddDays(-90), null, None);
        await s.History.AppendAsync(p2, T0.AddDays(-90), p1.Id, None);

        // Retention starts after both: p2 is the baseline at its start and keeps its ids; p1 loses them.
        await s.History.AppendAsync(Point(cell, 30, 3, ids), T0.AddMinutes(20), p2.Id, None);

        Assert.Null((await s.History.GetLatestAsync(cell.Partnership, cell.Viewer, cell.Mine, cell.Theirs, T0.AddMinutes(5), true, None))!.RecordIds);
        Assert.NotNull((await s.History.GetLatestAsync(cell.Partnership, cell.Viewer, cell.Mine, cell.Theirs, T0.AddMinutes(15), true, None))!.RecordIds);
    }
}
