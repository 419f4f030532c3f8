using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Domain.Tests.Disclosure.Views;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class ChangeNoticeTests
{
    private static CellChange Change(string mine, string theirs, int before, int after) => new(mine, theirs, before, before, after, after);

    [Fact]
    public void ANoticeCarriesReleasedCountsOfVisibleCellsOnly()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Overlaps), Default("t2", SharingLevel.Hidden)]);

        var cells = ChangeNotice.For(view, [Change("m1", "t1", 3, 4), Change("m1", "t2", 3, 40)]);

        var cell = Assert.Single(cells);
        Assert.Equal(("m1", "t1", 4, 3), (cell.MyPopulationId, cell.PartnerPopulationId, cell.Count.Value, cell.Previous.Value));
    }

    [Fact]
    public void AWithheldCountThatMovesButStaysWithheldSendsNoNotice()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Counts, 5)]);

        Assert.Empty(ChangeNotice.For(view, [Change("m1", "t1", 3, 4)]));
        Assert.Empty(ChangeNotice.For(view, [Change("m1", "t1", 0, 1)]));
    }

    [Fact]
    public void CrossingTheMinimumIsNoticedWithTheEarlierValueWithheld()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Counts, 5)]);

        var cell = Assert.Single(ChangeNotice.For(view, [Change("m1", "t1", 4, 6)]));
        Assert.Equal(6, cell.Count.Value);
        Assert.True(cell.Previous.IsWithheld);
    }

    [Fact]
    public void NoNoticeForAnInactivePartnership()
    {
        Assert.Empty(ChangeNotice.For(View(PartnershipStatus.Terminated, theirRules: [Default("t1", SharingLevel.Overlaps)]), [Change("m1", "t1", 0, 10)]));
    }

    [Fact]
    public void ANoticeIsWithdrawnWhenThePartnershipEndsOrIsNotTheViewers()
    {
        Assert.NotNull(ChangeNotice.WithdrawalReason(null, [("m1", "t1", SharingLevel.Overlaps)]));
        Assert.NotNull(ChangeNotice.WithdrawalReason(View(PartnershipStatus.Terminated, theirRules: [Default("t1", SharingLevel.Overlaps)]), [("m1", "t1", SharingLevel.Overlaps)]));
    }

    [Fact]
    public void ANoticeIsWithdrawnWhenACellItNamesIsHiddenOrSharedAtAnotherLevelNow()
    {
        var hiddenNow = View(theirRules: [Default("t1", SharingLevel.Hidden)]);
        var loweredNow = View(theirRules: [Default("t1", SharingLevel.Counts)]);
        var raisedNow = View(theirRules: [Default("t1", SharingLevel.Overlaps)]);

        Assert.NotNull(ChangeNotice.WithdrawalReason(hiddenNow, [("m1", "t1", SharingLevel.Overlaps)]));
        Assert.NotNull(ChangeNotice.WithdrawalReason(loweredNow, [("m1", "t1", SharingLevel.Overlaps)]));
        Assert.NotNull(ChangeNotice.WithdrawalReason(raisedNow, [("m1", "t1", SharingLevel.Counts)]));
    }

    [Fact]
    public void ANoticeWhoseCellsAreSharedAsBeforeIsStillDeliverable()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Overlaps), Default("t2", SharingLevel.Counts)]);

        Assert.Null(ChangeNotice.WithdrawalReason(view, [("m1", "t1", SharingLevel.Overlaps), ("m2", "t2", SharingLevel.Counts)]));
    }
}
